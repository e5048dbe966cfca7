#!/usr/bin/env sh
# Regenerates the committed sample collection (datasets/sample, about 3 MB of evtx_dump JSONL).
set -eu
cd "$(dirname "$0")/.."
rm -rf datasets/sample
cargo run -p evidx-gen --release -- --seed 1 --size 3MB --format jsonl -o datasets/sample
