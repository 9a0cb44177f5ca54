#!/usr/bin/env bash
# Builds charrnn's extension with AddressSanitizer + UndefinedBehaviorSanitizer into build/sanitize/
# (never touching the normal build or install) and runs the tests that exercise the native code
# under it. Any sanitizer report aborts the run with a non-zero exit status.
# Not here: the ordinary test suite (README's test command) or performance builds.
#
#   tools/sanitize.sh                 # build + core tests, about 2 minutes on 2 cores
#   tools/sanitize.sh tests/test_fuzz.py -x      # build, then only these pytest arguments
#   CHARRNN_FUZZ_EXAMPLES=2000 tools/sanitize.sh # fuzz longer (examples per fuzz test)
#   CHARRNN_SANITIZE_REUSE=1 tools/sanitize.sh ...  # skip the build if one is there
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
out=$root/build/sanitize
python=${PYTHON:-python3}
# -UNDEBUG and _GLIBCXX_ASSERTIONS turn on Eigen's and the standard library's bounds checks too.
flags="-fsanitize=address,undefined;-fno-sanitize-recover=undefined;-fno-omit-frame-pointer;-g"
flags="$flags;-UNDEBUG;-D_GLIBCXX_ASSERTIONS"
# -O1 and no LTO: ASan's recommended level, and builds in a fraction of the -O2 + LTO time.
flags="$flags;-O1;-fno-lto"

started=$(date +%s)
# 1. Build and install into a target folder of its own (no dependencies: they come from the
#    current environment). Build isolation only when the build tools are not importable here.
isolation=()
if "$python" -c "import scikit_build_core, pybind11" 2>/dev/null; then
  isolation=(--no-build-isolation)
fi
if [ -n "${CHARRNN_SANITIZE_REUSE:-}" ] && [ -d "$out/site/charrnn" ]; then
  echo "sanitize: reusing the build in $out/site (CHARRNN_SANITIZE_REUSE is set)"
else
  rm -rf "$out/site"
  "$python" -m pip install --quiet --no-deps "${isolation[@]}" --target "$out/site" \
    -Cbuild-dir="$out/cmake" -Ccmake.build-type=RelWithDebInfo \
    "-Ccmake.define.CHARRNN_EXTRA_FLAGS=$flags" "$root"
fi
built=$(date +%s)
echo "sanitize: built in $((built - started)) s"

# 2. Run. CPython is not built with ASan, so the ASan runtime is preloaded. `python -S` skips
#    site-packages' .pth hooks (an editable install would otherwise shadow our build); the
#    environment's packages (numpy, pytest, hypothesis) are put on the path explicitly.
site_packages=$("$python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
export PYTHONPATH="$out/site:$site_packages"
# libstdc++ too: ASan intercepts __cxa_throw only if libstdc++ is loaded at startup, and CPython
# does not link it; without it the first C++ exception (every ValueError we raise) aborts.
export LD_PRELOAD="$(gcc -print-file-name=libasan.so) $(gcc -print-file-name=libstdc++.so)"
# detect_leaks=0: CPython keeps objects alive until exit by design. allocator_may_return_null:
# tests ask for impossible sizes and expect MemoryError, not an ASan abort.
export ASAN_OPTIONS="detect_leaks=0:allocator_may_return_null=1:abort_on_error=1"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1"
export CHARRNN_SANITIZE=1  # lets tests skip what cannot run under ASan (RLIMIT_AS, subprocess CLIs)

core=$("$python" -S -c 'import charrnn._core as c; print(c.__file__)')
case "$core" in
  "$out/site/"*) echo "sanitize: testing $core" ;;
  *) echo "sanitize: wrong module imported: $core" >&2; exit 1 ;;
esac

if [ "$#" -eq 0 ]; then
  set -- tests/test_native.py tests/test_bad_input.py tests/test_fuzz.py tests/test_train.py
  for extra in tests/test_float32.py tests/test_batched.py tests/test_family.py tests/test_model.py; do
    if [ -f "$extra" ]; then set -- "$@" "$extra"; fi
  done
  # PyTorch is not loaded under the sanitizers (its own libraries are not built for them).
  set -- "$@" -q -p no:cacheprovider -k "not pytorch"
fi
"$python" -S -m pytest "$@"
echo "sanitize: clean; tests took $(($(date +%s) - built)) s, $(($(date +%s) - started)) s in all"
