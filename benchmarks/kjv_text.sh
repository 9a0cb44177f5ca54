#!/usr/bin/env bash
# The second text of the quality-per-minute comparison: the first 1,000,000 characters of the
# King James Bible (public domain; Genesis to Judges), from Debian's bible-kjv, verse numbers
# removed, one verse per line. Usage: bash benchmarks/kjv_text.sh [OUT] (default kjv.txt).
set -euo pipefail
out="${1:-kjv.txt}"
if ! command -v bible >/dev/null; then
    echo "kjv_text.sh: needs Debian's bible-kjv: apt-get install bible-kjv bible-kjv-text" >&2
    exit 1
fi
whole="$(mktemp)"
trap 'rm -f "$whole"' EXIT
bible -f "gen1:1-rev22:21" | sed -E 's/^[^ ]+ //' > "$whole"
head -c 1000000 "$whole" > "$out"
echo "wrote $out: $(wc -c < "$out") bytes, $(wc -l < "$out") lines"
