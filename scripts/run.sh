#!/usr/bin/env bash
# The main job on the built-in default: installs dependencies, builds, then
# evaluates the bundled example columns (examples/columns.json: identity,
# hashed, vocabulary, weighted, crossed and shared-embedding columns, a
# numeric and an indicator column, and a sequence column) on the bundled
# batch (examples/batch.json), printing the dense output, the sequence output
# and every embedding table's shape.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh >/dev/null
bash scripts/build.sh >/dev/null
exec build/embcol transform --columns examples/columns.json \
  --input examples/batch.json --tables "$@"
