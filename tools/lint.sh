#!/usr/bin/env bash
# The code's format and lint checks, as CI runs them (pre-commit runs the same tools on the files
# a commit changes): ruff's lint and format on Python, mypy on the package, clang-format on
# cpp/ and the benchmarks' C++ (never cpp/third_party). Exits non-zero on the first failure.
#   pip install '.[dev]' && bash tools/lint.sh
set -euo pipefail
cd "$(dirname "$0")/.."

ruff check .
ruff format --check .
mypy
git ls-files 'cpp/*.cpp' 'cpp/*.hpp' 'benchmarks/*.cpp' | grep -v '^cpp/third_party/' \
    | xargs clang-format --dry-run --Werror
echo "lint: ruff, ruff format, mypy and clang-format pass"
