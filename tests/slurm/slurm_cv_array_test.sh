#!/usr/bin/env bash
# slurm/submit-cv.sh on the one-node local Slurm: cross-validation of the tiny
# region (2 folds x 2 learning rates = 4 tasks) as a job array of 1-rank tasks,
# two at a time in one run directory, then the gather job (afterok on the
# array). The table must equal that of one plain `cropmap cv` run outside Slurm
# on the same samples, and every fold must have been trained by its array task.
# Also: the sbatch lines of a dry run, and the refusal when the samples are missing.
# Exit 77 (ctest: skipped) when Slurm cannot run here.
# usage: slurm_cv_array_test.sh CROPMAP_BIN SOURCE_DIR WORK_DIR
source "$(dirname "${BASH_SOURCE[0]}")/local_slurm.sh" "$@"
args=(--set split.folds=2 --set cv.grid_lr=[0.001,0.01])
cd "$src"

# The run's stages up to sample, then the same samples in a second directory for the reference.
"$bin" run --config "$CROPMAP_CONFIG" "${args[@]}" --set run.output="$work/array" --until sample > "$work/prepare.log" 2>&1 \
  || { cat "$work/prepare.log"; fail "preparing the run failed"; }
cp -a "$work/array" "$work/single"
"$bin" cv --config "$CROPMAP_CONFIG" "${args[@]}" --set run.output="$work/single" > "$work/single.log" 2>&1 \
  || { cat "$work/single.log"; fail "the plain cropmap cv run failed"; }

# Without samples: refused at submission, saying what to run first.
CV_PARTITION= bash "$src/slurm/submit-cv.sh" "$CROPMAP_CONFIG" "${args[@]}" --set run.output="$work/empty" \
  > "$work/refused.txt" 2>&1
rc=$?
cat "$work/refused.txt"
[ "$rc" -eq 2 ] || fail "submit-cv.sh without samples exited $rc, expected 2"
grep -q "stages up to sample must be complete" "$work/refused.txt" || fail "no clear refusal without samples"

# A dry run: the array with its concurrency limit, and the gather after it.
CROPMAP_DRY_RUN=1 CV_MAX_PARALLEL=2 CV_PARTITION= bash "$src/slurm/submit-cv.sh" "$CROPMAP_CONFIG" "${args[@]}" \
  --set run.output="$work/array" > "$work/dry.txt" 2>&1 || { cat "$work/dry.txt"; fail "the dry run failed"; }
cat "$work/dry.txt"
grep -qE "^sbatch .*--array=0-3%2 .*cropmap.sbatch --resume --task %a " "$work/dry.txt" || fail "no array line in the dry run"
grep -qE "^sbatch .*--dependency=afterok:<cv-task> .*cropmap.sbatch --resume --set" "$work/dry.txt" \
  || fail "no gather line after the array in the dry run"
[ -z "$(squeue -h)" ] || fail "the dry run submitted jobs"

# The array and the gather.
CV_PARTITION= CV_TASKS=1 CV_THREADS=1 CV_TIME=00:10:00 CROPMAP_LOG_DIR="$work" \
  bash "$src/slurm/submit-cv.sh" "$CROPMAP_CONFIG" "${args[@]}" --set run.output="$work/array" \
  > "$work/submit.txt" 2>&1 || { cat "$work/submit.txt"; fail "submit-cv.sh failed"; }
cat "$work/submit.txt"
read -r array gather < <(sed -nE 's/.*cv tasks ([0-9]+) \(array of 4\) -> gather ([0-9]+).*/\1 \2/p' "$work/submit.txt")
[ -n "${gather:-}" ] || fail "submit-cv.sh did not report an array of 4 tasks and a gather job"
for i in 0 1 2 3; do
  s=$(wait_job "${array}_$i" 400)
  log="$work/cropmap-cv-task-${array}_$i.out"
  tail -3 "$log" 2>/dev/null
  [ "$s" = COMPLETED ] || fail "array task $i ended in state $s"
  grep -q "(array job $array task $i): cv on 1 ranks" "$log" || fail "no log of array task $i"
  grep -q "^cv task $i of 4: " "$log" || fail "array task $i did not run cv task $i"
done
state=$(wait_job "$gather" 300)
glog="$work/cropmap-cv-$gather.out"
cat "$glog"
[ "$state" = COMPLETED ] || fail "the gather job ended in state $state"
[ "$(grep -c "is complete for this configuration; skipped" "$glog")" -eq 4 ] || fail "the gather job did not find the 4 folds done"
# Every fold was trained by its array task (the stamp names the task).
for label in lstm-lr0.001 lstm-lr0.01; do
  for f in 0 1; do
    stamp="$work/array/cv/$label/fold-$f/cv.done"
    grep -qE "^Slurm array job $array task [0-3]$" "$stamp" || fail "$stamp was not written by a task of array $array"
  done
done
python3 - "$work/array/cv/cv_report.json" "$work/single/cv/cv_report.json" "$work/array" "$work/single" <<'PY' \
  || fail "the array's table differs from the plain run's"
import json, sys
a = json.loads(open(sys.argv[1]).read().replace(sys.argv[3], sys.argv[4]))
b = json.load(open(sys.argv[2]))
per_fold = [m["overall_accuracy"]["per_fold"] for m in b["models"]]
print("per-fold OA (array = plain):", per_fold)
sys.exit(0 if a == b and len(b["models"]) == 2 else 1)
PY
echo "PASS"
