#!/usr/bin/env bash
# The test command: formatting, lints, and every test of the workspace.
# Reads ../shared (real data) beside the repository, as CI lays it out.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ ! -d ../shared/datasets ]; then
  echo "error: ../shared (real test data) is missing beside the repository" >&2
  exit 1
fi
for c in clippy rustfmt; do
  if ! cargo "${c/rustfmt/fmt}" --version >/dev/null 2>&1; then
    rustup component add "$c"
  fi
done
# The Spark test (query/tests/sql.rs) needs Java 17; Python's duckdb and
# pyspark are installed by the tests themselves (pip).
if ! command -v java >/dev/null 2>&1; then
  sudo=""; [ "$(id -u)" = 0 ] || sudo="sudo"
  if command -v apt-get >/dev/null 2>&1; then
    $sudo apt-get update -qq && $sudo apt-get install -y -qq openjdk-17-jre-headless
  else
    echo "error: the Spark test needs Java 17 on PATH (install a JRE 17)" >&2
    exit 1
  fi
fi

echo "== cargo fmt --check"
cargo fmt --all -- --check
echo "== cargo clippy -D warnings"
cargo clippy --workspace --all-targets -- -D warnings
echo "== cargo test"
cargo test --workspace
