#!/usr/bin/env bash
# Compare the speed of two versions of the native core in one process (see ab_core.cpp).
#   benchmarks/ab_core.sh REV_A REV_B [m T B pairs [float32]]
# REV_A, REV_B: git revisions, or WORK for the working tree. Defaults: m=100 T=25 B=1, 41 pairs.
# CHARRNN_AB_ARCH_A / CHARRNN_AB_ARCH_B set -march for each side (default: x86-64-v4 where the
# CPU has AVX-512, else x86-64-v3, as CHARRNN_ARCH=auto picks), so one revision can be compared
# with itself under two CPU levels.
set -euo pipefail
[ $# -ge 2 ] || { sed -n 2,7p "$0"; exit 2; }
repo="$(cd "$(dirname "$0")/.." && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cxx="${CXX:-g++}"
default_arch=x86-64-v3
grep -qw avx512bw /proc/cpuinfo 2>/dev/null && default_arch=x86-64-v4
flags=(-O3 -DNDEBUG -DEIGEN_MPL2_ONLY -std=c++17 -isystem "$repo/cpp/third_party/eigen")
for side in A B; do
    rev=$([ "$side" = A ] && echo "$1" || echo "$2")
    arch_var="CHARRNN_AB_ARCH_$side"
    arch="${!arch_var:-$default_arch}"
    mkdir "$work/$side"
    for f in rnn.hpp rnn.cpp optim.hpp optim.cpp; do
        if [ "$rev" = WORK ]; then cp "$repo/cpp/$f" "$work/$side/"; else git -C "$repo" show "$rev:cpp/$f" > "$work/$side/$f"; fi
    done
    # GCC treats headers with identical contents as one file under #pragma once.
    for h in rnn.hpp optim.hpp; do echo "// ab_core side $side" >> "$work/$side/$h"; done
    for f in rnn optim; do
        "$cxx" "${flags[@]}" -march="$arch" -Dcharrnn="v$side" -I "$work/$side" \
            -c "$work/$side/$f.cpp" -o "$work/$side/$f.o" &
    done
done
wait
"$cxx" "${flags[@]}" -march="$default_arch" -I "$work" "$repo/benchmarks/ab_core.cpp" "$work"/A/*.o "$work"/B/*.o -o "$work/ab"
"$work/ab" "${3:-100}" "${4:-25}" "${5:-1}" "${6:-41}" ${7:+"$7"}
