#!/usr/bin/env bash
# A single-node Slurm cluster on localhost (munged, slurmctld, slurmd from Debian's
# slurm-wlm and munge) runs examples/slurm/predict_array.sh as a 4-task array and merge.sh
# as the job that depends on it; the merged file must equal one unsharded `predict`, byte
# for byte. Everything lives in a temporary directory (its own munge socket and key, its
# own slurm.conf), the daemons are stopped on exit, and the jobs must finish in 5 minutes.
#
# Needs: root, the packages slurm-wlm and munge, target/release/starskope built, and
# ../shared/realdata (the light curves scored).
set -euo pipefail
cd "$(dirname "$0")/.."
bin=$PWD/target/release/starskope
data="$PWD/../shared/realdata/k*/*.*"
work=$(mktemp -d /tmp/starskope-slurm.XXXXXX)
chmod 755 "$work"
pids=()
stop() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$work"
}
trap stop EXIT
# A timeout's or Ctrl-C's signal exits through the EXIT trap too, so the daemons stop.
trap 'exit 1' TERM INT
fail() {
  echo "slurm: $*" >&2
  for log in "$work"/*.log "$work"/jobs/*.log; do [ -f "$log" ] && { echo "== $log" >&2; tail -20 "$log" >&2; }; done
  exit 1
}

# munge: a fresh key and socket of this run's own, whatever the machine already runs.
install -d -o munge -g munge -m 755 "$work/munge"
dd if=/dev/urandom bs=1 count=1024 of="$work/munge/munge.key" status=none
chown munge:munge "$work/munge/munge.key" && chmod 400 "$work/munge/munge.key"
runuser -u munge -- munged --foreground --key-file="$work/munge/munge.key" --socket="$work/munge/socket" \
  --pid-file="$work/munge/pid" --seed-file="$work/munge/seed" --log-file="$work/munge.log" >/dev/null 2>&1 &
pids+=($!)

host=$(hostname -s)
cpus=$(nproc)
mkdir -p "$work/state" "$work/spool" "$work/jobs"
export SLURM_CONF=$work/slurm.conf
cat >"$SLURM_CONF" <<CONF
ClusterName=starskope-ci
SlurmctldHost=$host(127.0.0.1)
SlurmctldPort=16817
SlurmdPort=16818
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$work/munge/socket
SlurmUser=root
SlurmdUser=root
StateSaveLocation=$work/state
SlurmdSpoolDir=$work/spool
SlurmctldPidFile=$work/slurmctld.pid
SlurmdPidFile=$work/slurmd.pid
SlurmctldLogFile=$work/slurmctld.log
SlurmdLogFile=$work/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
MpiDefault=none
ReturnToService=2
NodeName=$host NodeAddr=127.0.0.1 CPUs=$cpus State=UNKNOWN
PartitionName=ci Nodes=$host Default=YES MaxTime=INFINITE State=UP
CONF

for _ in $(seq 50); do [ -S "$work/munge/socket" ] && break; sleep 0.1; done
[ -S "$work/munge/socket" ] || fail "munged did not start"
# Each daemon logs to its file in $work (shown on failure) as well as to stderr: quiet.
slurmctld -D -i -f "$SLURM_CONF" >/dev/null 2>&1 &
pids+=($!)
slurmd -D -f "$SLURM_CONF" >/dev/null 2>&1 &
pids+=($!)
for _ in $(seq 100); do sinfo -h -o %T 2>/dev/null | grep -qx idle && break; sleep 0.2; done
sinfo -h -o %T 2>/dev/null | grep -qx idle || fail "the node did not come up: $(sinfo 2>&1)"

# The model: one epoch on the shipped sample (seconds); its weights do not matter here.
"$bin" train --device cpu --train data/sample/exoTrain.csv --epochs 1 --out "$work/run" >/dev/null 2>&1 ||
  fail "train failed"
model=$work/run/model.safetensors
"$bin" predict --device cpu --model "$model" --data "$data" --out "$work/whole.csv" 2>/dev/null ||
  fail "the unsharded predict failed"

export STARSKOPE=$bin STARSKOPE_DEVICE=cpu
cd "$work/jobs"
array=$(sbatch --parsable --array=0-3 --cpus-per-task=1 "$OLDPWD/examples/slurm/predict_array.sh" \
  "$model" "$data" "$work/parts") || fail "sbatch of the array failed"
merge=$(sbatch --parsable --dependency=afterok:"$array" "$OLDPWD/examples/slurm/merge.sh" \
  "$work/parts" "$work/merged.csv") || fail "sbatch of the merge failed"
cd "$OLDPWD"

deadline=$((SECONDS + 300))
while squeue -h -j "$array,$merge" 2>/dev/null | grep -q .; do
  [ "$SECONDS" -lt "$deadline" ] || fail "the jobs did not finish in 5 minutes: $(squeue 2>&1)"
  sleep 1
done
[ -f "$work/merged.csv" ] || fail "the merge job wrote no file"
parts=$(ls "$work/parts" | wc -l)
[ "$parts" -eq 4 ] || fail "the array wrote $parts parts, not 4"
cmp "$work/whole.csv" "$work/merged.csv" || fail "the merged file differs from the unsharded predict"
echo "slurm: a 4-task array and its merge job gave $(($(wc -l <"$work/merged.csv") - 1)) rows, byte for byte those of one predict"
