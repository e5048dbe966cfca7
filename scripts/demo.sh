#!/usr/bin/env bash
# The main job on data the project ships: index the generated sample in
# datasets/sample (NDJSON in evtx_dump shape, 3 hosts, 2 days), run the ESCU
# "GetNetTcpconnection with PowerShell" detection, print the table, and check
# it against the generator's ground truth.
set -euo pipefail
cd "$(dirname "$0")/.."

cargo build --release -p evidx-index -p evidx-query
bin=target/release
idx=target/demo/sample.idx

"$bin/evidx-index" --force -o "$idx" datasets/sample

# The detection as ESCU ships it when ../shared is here; otherwise the same
# search written out (ESCU v3, e02af35c-1de5-4afe-b4be-f45aba57272b).
escu=../shared/escu
if [ -f "$escu/detections/endpoint/getnettcpconnection_with_powershell.yml" ]; then
  run() { "$bin/evidx-query" -i "$idx" --macros "$escu/macros" \
            --file "$escu/detections/endpoint/getnettcpconnection_with_powershell.yml" "$@"; }
else
  spl='| tstats `security_content_summariesonly` count min(_time) as firstTime max(_time) as lastTime
       from datamodel=Endpoint.Processes
       where (Processes.process_name="powershell.exe") (Processes.process=*Get-NetTcpConnection*)
       by Processes.dest Processes.user Processes.parent_process Processes.process_name
          Processes.process Processes.process_id Processes.parent_process_id
       | `drop_dm_object_name(Processes)` | `security_content_ctime(firstTime)`
       | `security_content_ctime(lastTime)`'
  run() { "$bin/evidx-query" -i "$idx" "$spl" "$@"; }
fi

echo
run --format table
run --format csv > target/demo/getnettcpconnection.csv
if diff -u datasets/sample/expected/getnettcpconnection_with_powershell.csv target/demo/getnettcpconnection.csv; then
  echo "OK: the table equals the planted ground truth (datasets/sample/expected/)"
else
  echo "MISMATCH against datasets/sample/expected/getnettcpconnection_with_powershell.csv" >&2
  exit 1
fi
