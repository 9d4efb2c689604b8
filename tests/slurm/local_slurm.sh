# Sourced by the slurm tests: arguments, skip rules (exit 77 where Slurm cannot
# run: not root, packages missing, daemons not up), a fresh work directory and
# a one-node local Slurm that stops when the test exits; wait_job waits for a job
# to end (through requeues) and prints its state.
# usage (from a test): source local_slurm.sh CROPMAP_BIN SOURCE_DIR WORK_DIR
set -uo pipefail
bin=$(realpath "$1")
src=$(realpath "$2")
work=$(realpath -m "$3")
fail() { echo "FAIL: $*" >&2; exit 1; }

[ "$(id -u)" -eq 0 ] || { echo "SKIP: the local Slurm needs root"; exit 77; }
for b in sbatch slurmctld slurmd munged; do
  command -v "$b" >/dev/null || [ -x "/usr/sbin/$b" ] || { echo "SKIP: $b missing (slurm-wlm, munge)"; exit 77; }
done

rm -rf "$work"
mkdir -p "$work"
cluster="$work/cluster"
trap 'bash "$src/slurm/local-cluster.sh" stop "$cluster"' EXIT
if ! bash "$src/slurm/local-cluster.sh" start "$cluster"; then
  echo "SKIP: the local Slurm did not start; logs in $cluster/log"
  exit 77
fi
export SLURM_CONF="$cluster/slurm.conf"
# The run and slurm tests' tiny region; its paths are relative to the repository root.
export CROPMAP_BIN="$bin" CROPMAP_CONFIG="$src/tests/data/tiny_region.yaml"

job_state() { scontrol -o show job "$1" 2>/dev/null | grep -oE 'JobState=[A-Z_]+' | head -1 | cut -d= -f2; }
wait_job() {  # job timeout-seconds: waits through requeues until the job ends; prints its final state
  local job=$1 deadline=$((SECONDS + $2)) state
  while [ $SECONDS -lt $deadline ]; do
    state=$(job_state "$job")
    case "$state" in
      COMPLETED|FAILED|CANCELLED|TIMEOUT|NODE_FAIL|OUT_OF_MEMORY|PREEMPTED|BOOT_FAIL|DEADLINE) echo "$state"; return 0 ;;
    esac
    sleep 2
  done
  echo "STILL-$state"
}
