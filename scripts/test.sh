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

echo "== cargo fmt --check"
cargo fmt --all -- --check
echo "== cargo clippy -D warnings"
cargo clippy --workspace --all-targets -- -D warnings
echo "== cargo test"
cargo test --workspace
