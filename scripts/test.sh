#!/usr/bin/env bash
# scripts/test.sh: the one test command. Installs missing packages
# (scripts/bootstrap.sh), configures build-ci as CI does (warnings are
# errors, ASan+UBSan, Debug), builds, and runs every ctest. Extra arguments
# go to ctest, e.g. `scripts/test.sh -L unit` or `scripts/test.sh -R worker_`.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/bootstrap.sh

# Leaks are errors; UBSan stops at the first finding with a stack.
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1

cmake -S . -B build-ci \
    -DFERRY_WERROR=ON \
    -DFERRY_SANITIZER=address+undefined \
    -DCMAKE_BUILD_TYPE=Debug
cmake --build build-ci -j2
exec ctest --test-dir build-ci --output-on-failure -j2 "$@"
