#!/usr/bin/env bash
# Corpus BLEU + chrF++ on N synthetic segment pairs: sacrebleu (Python) vs `tessera mt eval`
# at 1 thread and at all cores, median wall time of RUNS runs each, and a check that both
# print the same scores.
#
# sacrebleu is not packaged by Debian: point SACREBLEU_SRC at a checkout of its source
# (github.com/mjpost/sacrebleu, release 2.6.0); its Python dependencies are Debian packages,
# installed below when missing (root) or listed (not root).
#   SACREBLEU_SRC=~/src/sacrebleu TESSERA=build/release/tessera bench/compare/mt_metrics.sh
set -euo pipefail
N=${N:-100000}
RUNS=${RUNS:-5}
TESSERA=${TESSERA:-build/release/tessera}
: "${SACREBLEU_SRC:?set SACREBLEU_SRC to a sacrebleu 2.6.0 source checkout}"
here=$(cd "$(dirname "$0")" && pwd)

deps=(python3-regex python3-numpy python3-portalocker python3-tabulate python3-colorama python3-lxml)
missing=()
for p in "${deps[@]}"; do dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p"); done
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" -eq 0 ]; then apt-get update -q && apt-get install -y -q --no-install-recommends "${missing[@]}"
  else echo "install first: apt-get install ${missing[*]}"; exit 1; fi
fi
[ -f "$SACREBLEU_SRC/sacrebleu/version.py" ] || echo '__version__ = "2.6.0"' > "$SACREBLEU_SRC/sacrebleu/version.py"

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
/usr/bin/python3 "$here/mt_metrics_data.py" "$N" "$work/hyp" "$work/ref"

median() { sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
time_runs() {  # prints the median of RUNS wall times of the command
  for _ in $(seq "$RUNS"); do
    local start end
    start=$(date +%s.%N); "$@" > "$work/out" 2>/dev/null; end=$(date +%s.%N)
    awk -v a="$start" -v b="$end" 'BEGIN {printf "%.3f\n", b - a}'
  done | median
}

sacre() { PYTHONPATH="$SACREBLEU_SRC" /usr/bin/python3 -m sacrebleu "$work/ref" -i "$work/hyp" -m bleu chrf --chrf-word-order 2 -f text -w 4; }
tess() { "$TESSERA" --threads "$1" mt eval --hyp "$work/hyp" --ref "$work/ref" --metrics bleu,chrf --chrf-word-order 2 --width 4; }

sacre > "$work/sacre.txt"; tess 1 > "$work/tess.txt"
if ! diff <(sed 's/|version:[^ ]*//' "$work/sacre.txt" | tr -s ' ') <(sed 's/|version:[^ ]*//' "$work/tess.txt" | tr -s ' ') > /dev/null; then
  echo "MISMATCH"; cat "$work/sacre.txt" "$work/tess.txt"; exit 1
fi
cat "$work/tess.txt"
cores=$(nproc)
t_sacre=$(time_runs sacre)
t_one=$(time_runs tess 1)
t_all=$(time_runs tess "$cores")
echo "machine: $(lscpu | grep 'Model name' | sed 's/Model name: *//'), $cores cores; $N segment pairs, median of $RUNS runs"
printf 'sacrebleu 2.6.0 (python3)   %8.2f s\n' "$t_sacre"
printf 'tessera, 1 thread           %8.2f s  (%.1fx)\n' "$t_one" "$(awk -v a="$t_sacre" -v b="$t_one" 'BEGIN {print a / b}')"
printf 'tessera, %d threads          %8.2f s  (%.1fx)\n' "$cores" "$t_all" "$(awk -v a="$t_sacre" -v b="$t_all" 'BEGIN {print a / b}')"
