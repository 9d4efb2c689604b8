#!/usr/bin/env bash
# A time limit too short for the whole pipeline, on the one-node local Slurm:
# slurm/cropmap.sbatch must be signalled (USR1) before the limit, stop with its
# work saved (exit 75), requeue itself and continue with --resume until the run
# is complete; the cube, samples, model and maps must equal those of an
# uninterrupted run of the same configuration made outside Slurm.
# Then slurm/submit-run.sh's three-job chain (prepare -> train -> map, each
# afterok on the one before) runs the same configuration to the same outputs.
# Exit 77 (ctest: skipped) when Slurm cannot run here.
# usage: slurm_requeue_test.sh CROPMAP_BIN SOURCE_DIR WORK_DIR
source "$(dirname "${BASH_SOURCE[0]}")/local_slurm.sh" "$@"
# Long enough training (about 100 s on 2 idle cores) that a 1-minute limit with the
# warning 40 s before it (Slurm checks limits about every 30 s) cuts the first start.
args=(--set train.epochs=1800 --set train.patience=0)
cd "$src"

# The references: the same configurations, uninterrupted, outside Slurm.
mpirun -n 2 "$bin" run --config "$CROPMAP_CONFIG" "${args[@]}" --set run.output="$work/ref" > "$work/ref.log" 2>&1 \
  || { cat "$work/ref.log"; fail "the reference run failed"; }
mpirun -n 2 "$bin" run --config "$CROPMAP_CONFIG" --set run.output="$work/ref_chain" > "$work/ref_chain.log" 2>&1 \
  || { cat "$work/ref_chain.log"; fail "the reference run of the chain failed"; }

same_outputs() {  # dir [reference dir, default $work/ref]
  local d=$1 ref=${2:-$work/ref} obj
  for f in samples.h5; do
    h5diff -c "$ref/$f" "$d/$f" >/dev/null || { echo "$f differs"; return 1; }
  done
  for obj in $(h5ls -r "$ref/cube.h5" | awk '$2 == "Dataset" {print $1}'); do
    h5diff "$ref/cube.h5" "$d/cube.h5" "$obj" "$obj" >/dev/null || { echo "cube.h5 $obj differs"; return 1; }
  done
  cmp -s "$ref/maps/33UVP.tif" "$d/maps/33UVP.tif" || { echo "maps/33UVP.tif differs"; return 1; }
  # The weights: every tensor record of the LibTorch archive (data.pkl holds the
  # configuration, whose run.output differs).
  python3 - "$ref/train/model.pt" "$d/train/model.pt" <<'PY' || { echo "train/model.pt weights differ"; return 1; }
import sys, zipfile
a, b = ({i.filename: i.CRC for i in zipfile.ZipFile(p).infolist() if not i.filename.endswith("data.pkl")} for p in sys.argv[1:3])
sys.exit(0 if a == b and len(a) > 1 else 1)
PY
  for f in train/report.json; do
    python3 - "$ref/$f" "$d/$f" <<'PY' || { echo "$f metrics differ"; return 1; }
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:3])
strip = lambda r: {k: v for k, v in r.items() if k not in ("model", "samples_file", "seconds", "wall_seconds", "created", "timing")}
sys.exit(0 if strip(a) == strip(b) else 1)
PY
  done
  return 0
}

# 1. A time limit of 1 minute with USR1 40 s before it: the job is stopped and
#    requeued until the run completes.
CROPMAP_SIGNAL_LEAD=40 CROPMAP_MAX_REQUEUES=60 sbatch --parsable --chdir="$src" --ntasks=2 --cpus-per-task=1 --time=1 --signal=B:USR1@40 \
  --output="$work/requeue-%j.out" "$src/slurm/cropmap.sbatch" "${args[@]}" --set run.output="$work/requeued" \
  > "$work/submit.txt" 2>&1 || { cat "$work/submit.txt"; fail "sbatch failed"; }
job=$(tail -1 "$work/submit.txt")
state=$(wait_job "$job" 1500)
log="$work/requeue-$job.out"
cat "$log"
restarts=$(scontrol -o show job "$job" | grep -oE 'Restarts=[0-9]+' | cut -d= -f2)
[ "$state" = COMPLETED ] || fail "the time-limited job ended in state $state"
[ "${restarts:-0}" -ge 1 ] || fail "the job finished without being requeued; the time limit did not cut it"
grep -q "time limit near, asking the ranks to stop" "$log" || fail "the batch script never got USR1"
grep -q "requeueing" "$log" || fail "the batch script did not requeue the job"
grep -q "with --resume" "$log" || fail "the requeued start did not pass --resume"
why=$(same_outputs "$work/requeued") || fail "requeued run differs from the uninterrupted one: $why"
echo "requeued job $job: $restarts requeue(s), outputs equal to the uninterrupted run"

# 2. The three-job chain of submit-run.sh, on CPUs only.
CPU_PARTITION= GPU_PARTITION= CPU_NODES=1 CPU_TASKS_PER_NODE=2 GPU_NODES=1 GPUS_PER_NODE=0 \
  GPU_TASKS_PER_NODE=2 GPU_THREADS=1 CPU_TIME=00:15:00 GPU_TIME=00:15:00 MAP_TIME=00:15:00 \
  CROPMAP_LOG_DIR="$work" bash "$src/slurm/submit-run.sh" "$CROPMAP_CONFIG" --set run.output="$work/chain" \
  > "$work/chain-submit.txt" 2>&1 || { cat "$work/chain-submit.txt"; fail "submit-run.sh failed"; }
cat "$work/chain-submit.txt"
ids=$(grep -oE 'prepare [0-9]+ -> train [0-9]+ -> map [0-9]+' "$work/chain-submit.txt" | grep -oE '[0-9]+')
[ "$(echo "$ids" | wc -w)" -eq 3 ] || fail "submit-run.sh did not report three job ids"
set -- $ids
for part in "prepare $1 sample" "train $2 train" "map $3 predict"; do
  read -r name j stage <<< "$part"
  s=$(wait_job "$j" 900)
  out="$work/cropmap-$name-$j.out"
  tail -15 "$out" 2>/dev/null
  [ "$s" = COMPLETED ] || fail "chain job $name ($j) ended in state $s"
  grep -qE "^  $stage +ran " "$out" || fail "chain job $name did not run stage $stage"
done
why=$(same_outputs "$work/chain" "$work/ref_chain") || fail "the chained run differs from the uninterrupted one: $why"
echo "PASS"
