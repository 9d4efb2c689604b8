#!/usr/bin/env bash
# slurm/cropmap.sbatch on a one-node Slurm started on this machine
# (slurm/local-cluster.sh): the whole pipeline on a tiny synthetic region as a
# 2-task job with ranks started by srun through PMIx, then a job with a missing
# configuration, which must fail with exit 2 and say what to set.
# Exit 77 (ctest: skipped) when Slurm cannot run here: not root, packages
# missing, or the daemons do not come up.
# usage: slurm_job_test.sh CROPMAP_BIN SOURCE_DIR WORK_DIR
source "$(dirname "${BASH_SOURCE[0]}")/local_slurm.sh" "$@"
sbatch --wait --chdir="$src" --ntasks=2 --cpus-per-task=1 --time=00:20:00 --output="$work/job-%j.out" \
  "$src/slurm/cropmap.sbatch" --set run.output="$work/out" > "$work/submit.txt" 2>&1
rc=$?
job=$(grep -oE '[0-9]+' "$work/submit.txt" | head -1)
log="$work/job-$job.out"
cat "$work/submit.txt"
[ -f "$log" ] && cat "$log"
[ "$rc" -eq 0 ] || fail "the pipeline job exited $rc"
grep -q "cropmap job $job: run on 2 ranks" "$log" || fail "the job did not start 2 ranks"
grep -q "cropmap run 'tiny' on 2 rank(s)" "$log" || fail "no run summary for 2 ranks in the job log"
for f in out/cube.h5 out/samples.h5 out/train/model.pt out/train/report.json out/maps/33UVP.tif; do
  [ -s "$work/$f" ] || fail "$f missing after the job"
done

# A configuration that does not exist: exit 2 from the script, before srun.
CROPMAP_CONFIG="$work/missing.yaml" sbatch --wait --chdir="$src" --ntasks=2 --output="$work/bad-%j.out" \
  "$src/slurm/cropmap.sbatch" > "$work/submit-bad.txt" 2>&1
rc=$?
bad=$(grep -oE '[0-9]+' "$work/submit-bad.txt" | head -1)
cat "$work/bad-$bad.out" 2>/dev/null
[ "$rc" -eq 2 ] || fail "a missing configuration gave exit $rc, expected 2"
grep -q "does not exist; set CROPMAP_CONFIG" "$work/bad-$bad.out" || fail "no clear message for the missing configuration"
echo "PASS"
