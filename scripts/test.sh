#!/usr/bin/env bash
# Installs dependencies (apt-get, idempotent), builds everything and runs the
# whole test suite. This is the README's test command and what CI runs.
#
# The concurrency stress tests also run under ThreadSanitizer, from a second
# build tree (build-tsan). EMBCOL_SKIP_TSAN=1 skips that step.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
bash scripts/build.sh
jobs=$(nproc 2>/dev/null || echo 2)
if [ "${EMBCOL_SKIP_TSAN:-0}" != "1" ]; then
  echo "== ThreadSanitizer: concurrency stress tests (build-tsan) =="
  cmake -S . -B build-tsan -DCMAKE_BUILD_TYPE=RelWithDebInfo -DEMBCOL_TSAN=ON >/dev/null
  cmake --build build-tsan -j"$jobs" --target embcol_stress_tests
  TSAN_OPTIONS="halt_on_error=1" build-tsan/embcol_stress_tests
fi
ctest --test-dir build --output-on-failure -j"$jobs"
