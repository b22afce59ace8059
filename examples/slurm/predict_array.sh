#!/usr/bin/env bash
# One part of `starskope predict` per Slurm array task: task K of N scores the K-th of N
# contiguous blocks of the input (targets in sorted file order, or CSV rows) into
# PARTS/part-K.csv. Submit it with a 0-based array, then merge.sh as a job that waits for
# every task to succeed:
#
#   jobid=$(sbatch --parsable --array=0-63 examples/slurm/predict_array.sh MODEL DATA PARTS)
#   sbatch --dependency=afterok:"$jobid" examples/slurm/merge.sh PARTS scores.csv
#
# DATA is what `predict --data` takes: a directory tree, a quoted glob or a CSV. The array
# must run 0 to N-1 in steps of 1 (a throttle such as --array=0-63%16 is fine): the part
# is $SLURM_ARRAY_TASK_ID of $SLURM_ARRAY_TASK_COUNT. STARSKOPE names the binary (default:
# starskope on PATH) and STARSKOPE_DEVICE the --device (default: auto).
#SBATCH --job-name=starskope-predict
#SBATCH --array=0-3
#SBATCH --cpus-per-task=2
#SBATCH --time=02:00:00
#SBATCH --output=starskope-predict-%A_%a.log
set -euo pipefail

if [ "$#" -ne 3 ] || [ -z "${SLURM_ARRAY_TASK_ID:-}" ]; then
  echo "usage: sbatch --array=0-N-1 $0 MODEL DATA PARTS_DIR" >&2
  exit 2
fi
model=$1 data=$2 parts=$3
# Reading and the transit search run on all the threads rayon sees: give it the task's CPUs.
export RAYON_NUM_THREADS=${SLURM_CPUS_PER_TASK:-1}
mkdir -p "$parts"
exec "${STARSKOPE:-starskope}" predict --device "${STARSKOPE_DEVICE:-auto}" --model "$model" --data "$data" \
  --shard "$SLURM_ARRAY_TASK_ID/$SLURM_ARRAY_TASK_COUNT" --out "$parts/part-$SLURM_ARRAY_TASK_ID.csv"
