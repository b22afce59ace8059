#!/usr/bin/env bash
# Joins the parts predict_array.sh wrote into OUT, the file one `starskope predict` run
# without --shard writes; it fails, naming the part, if one is missing, cut short or from
# another run. Submit it after the array (see predict_array.sh):
#
#   sbatch --dependency=afterok:"$jobid" examples/slurm/merge.sh PARTS scores.csv
#SBATCH --job-name=starskope-merge
#SBATCH --cpus-per-task=1
#SBATCH --time=00:30:00
#SBATCH --output=starskope-merge-%j.log
set -euo pipefail

if [ "$#" -ne 2 ]; then
  echo "usage: sbatch --dependency=afterok:JOBID $0 PARTS_DIR OUT" >&2
  exit 2
fi
exec "${STARSKOPE:-starskope}" merge --out "$2" "$1"/part-*.csv
