#!/usr/bin/env bash
# Compare the speed of two versions of the native core in one process (see ab_core.cpp).
#   benchmarks/ab_core.sh REV_A REV_B [m T B pairs [float64|float32 [cell [layers]]]]
# REV_A, REV_B: git revisions, or WORK for the working tree. Defaults: m=100 T=25 B=1, 41 pairs,
# float64, rnn, 1 layer. B and the type may be lists, e.g. 1,32 float64,float32: one build, every case in turn.
# CHARRNN_AB_ARCH_A / CHARRNN_AB_ARCH_B set -march for each side (default: x86-64-v4 where the
# CPU has AVX-512, else x86-64-v3, as CHARRNN_ARCH=auto picks), so one revision can be compared
# with itself under two CPU levels. CHARRNN_AB_OPTIMIZER=adam times Adam's update instead of
# AdaGrad's.
#
# A side is built from every .cpp of its revision under cpp/ but bindings/ and third_party/,
# includes relative to cpp/ (a revision needs cpp/core/layout.hpp: the model-family core). Eigen
# comes from the working tree for both.
set -euo pipefail
[ $# -ge 2 ] || { sed -n 2,9p "$0"; exit 2; }
repo="$(cd "$(dirname "$0")/.." && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cxx="${CXX:-g++}"
default_arch=x86-64-v3
grep -qw avx512bw /proc/cpuinfo 2>/dev/null && default_arch=x86-64-v4
flags=(-O3 -DNDEBUG -DEIGEN_MPL2_ONLY -std=c++17 -isystem "$repo/cpp/third_party/eigen")

# The core's files of a revision (paths under cpp/, one a line): sources and headers, no
# bindings, no vendored code.
list_files() {
    if [ "$1" = WORK ]; then
        (cd "$repo/cpp" && find . -path ./third_party -prune -o -path ./bindings -prune -o \
            -type f \( -name '*.cpp' -o -name '*.hpp' -o -name '*.h' \) -print | sed 's|^\./||')
    else
        git -C "$repo" ls-tree -r --name-only "$1" -- cpp/ | sed 's|^cpp/||' |
            grep -Ev '^(third_party|bindings)/' | grep -E '\.(cpp|hpp|h)$' || true
    fi
}

pids=()
for side in A B; do
    rev=$([ "$side" = A ] && echo "$1" || echo "$2")
    arch_var="CHARRNN_AB_ARCH_$side"
    arch="${!arch_var:-$default_arch}"
    src="$work/$side/cpp"
    mkdir -p "$src"
    files=$(list_files "$rev")
    [ -n "$files" ] || { echo "ab_core: no core sources in $rev" >&2; exit 1; }
    for f in $files; do
        mkdir -p "$src/$(dirname "$f")"
        if [ "$rev" = WORK ]; then cp "$repo/cpp/$f" "$src/$f"; else git -C "$repo" show "$rev:cpp/$f" > "$src/$f"; fi
    done
    if [ ! -f "$src/core/layout.hpp" ]; then
        echo "ab_core: $rev has no cpp/core/layout.hpp (the model-family core)" >&2
        exit 1
    fi
    sources=$(cd "$src" && find . -name '*.cpp' | sed 's|^\./||')
    echo "side $side: $rev, -march=$arch" >&2
    side_flags=("${flags[@]}" -march="$arch" -Dcharrnn="v$side" -I "$src")
    for f in $sources; do
        "$cxx" "${side_flags[@]}" -c "$src/$f" -o "$work/$side/$(echo "$f" | tr / _).o" &
        pids+=($!)
    done
    "$cxx" "${side_flags[@]}" -DCHARRNN_AB_SIDE -c "$repo/benchmarks/ab_core.cpp" \
        -o "$work/$side/ab_side.o" &
    pids+=($!)
done
"$cxx" "${flags[@]}" -march="$default_arch" -c "$repo/benchmarks/ab_core.cpp" -o "$work/ab_main.o" &
pids+=($!)
for p in "${pids[@]}"; do wait "$p"; done  # `wait` alone would not stop on a failed compile
"$cxx" "$work/ab_main.o" "$work"/A/*.o "$work"/B/*.o -o "$work/ab"
"$work/ab" "${3:-100}" "${4:-25}" "${5:-1}" "${6:-41}" ${7:+"$7"} ${8:+"$8"} ${9:+"$9"}
