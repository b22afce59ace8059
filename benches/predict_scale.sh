#!/usr/bin/env bash
# How `starskope predict --data DIR` grows with the number of files and of workers.
#
#   bash benches/predict_scale.sh MODEL "64 256 1024" "1 2 4" [CURVE...]
#
# Makes a directory of FILES light curves (symbolic links, each its own target, cycling
# through CURVE..., by default the K2 and Kepler text tables of ../shared/realdata), then
# times, with /usr/bin/time, one `predict --device cpu` on one thread for each size, and
# for the largest size W shards run side by side (`--shard K/W`, one thread each) and
# merged, for each W. Prints one markdown row per run: wall seconds, CPU seconds (user +
# system, all processes), CPU ms per file, files per wall second, and the load average
# before the run (the machine may be shared: CPU time per file is the figure that
# contention does not move). Every sharded run's merge is checked against the unsharded
# file of the same size.
set -euo pipefail
cd "$(dirname "$0")/.."
[ "$#" -ge 3 ] || { sed -n 2,14p "$0"; exit 2; }
model=$(realpath "$1") sizes=$2 workers=$3
shift 3
if [ "$#" -eq 0 ]; then
  set -- ../shared/realdata/k2/*.csv ../shared/realdata/k2/*.dat ../shared/realdata/kepler/*.csv
fi
curves=()
for c in "$@"; do curves+=("$(realpath "$c")"); done
bin=$PWD/target/release/starskope
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export NODEVICE_SELECT=1

# timed LABEL FILES CMD...: runs CMD, prints the row.
timed() {
  local label=$1 files=$2 load
  shift 2
  load=$(cut -d' ' -f1 /proc/loadavg)
  /usr/bin/time -f "%e %U %S" -o "$work/time" "$@"
  read -r wall user sys <"$work/time"
  awk -v l="$label" -v n="$files" -v w="$wall" -v u="$user" -v s="$sys" -v la="$load" \
    'BEGIN { c = u + s; printf "| %s | %d | %.2f | %.2f | %.1f | %.1f | %s |\n", l, n, w, c, 1000 * c / n, n / w, la }'
}

echo "| run | files | wall s | CPU s | CPU ms per file | files per wall s | load before |"
echo "|---|---:|---:|---:|---:|---:|---:|"
largest=0
for n in $sizes; do
  dir=$work/lc$n
  mkdir -p "$dir"
  for ((i = 0; i < n; i++)); do
    src=${curves[i % ${#curves[@]}]}
    ln -s "$src" "$dir/$(printf 's%06d' "$i")-$(basename "$src")"
  done
  timed "1 process, 1 thread" "$n" env RAYON_NUM_THREADS=1 \
    "$bin" predict --device cpu --model "$model" --data "$dir" --out "$work/whole$n.csv" 2>/dev/null
  largest=$n
done
for w in $workers; do
  rm -f "$work"/part-*.csv
  # W shards side by side, one thread each, then the merge: one timed shell for all of it.
  timed "$w shards side by side, 1 thread each, + merge" "$largest" bash -c '
    for ((k = 0; k < $1; k++)); do
      RAYON_NUM_THREADS=1 "$2" predict --device cpu --model "$3" --data "$4" --shard "$k/$1" --out "$5/part-$k.csv" 2>/dev/null &
    done
    wait
    "$2" merge --out "$5/merged.csv" "$5"/part-*.csv 2>/dev/null' _ "$w" "$bin" "$model" "$work/lc$largest" "$work"
  cmp -s "$work/merged.csv" "$work/whole$largest.csv" || { echo "the merge of $w shards differs" >&2; exit 1; }
done
timed "1 process, all threads" "$largest" \
  "$bin" predict --device cpu --model "$model" --data "$work/lc$largest" --out "$work/threads.csv" 2>/dev/null
cmp -s "$work/threads.csv" "$work/whole$largest.csv" || { echo "the threaded run differs" >&2; exit 1; }
