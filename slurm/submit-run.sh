#!/usr/bin/env bash
# The whole pipeline as a chain of three Slurm jobs, each sized for its stages:
#
#   1. prepare  (CPU)  cropmap run --until sample   synth, composite, labels, split, sample
#   2. train    (GPU)  cropmap run --until train    the stages before are complete and skipped
#   3. map      (CPU)  cropmap run                  evaluate, predict
#
# Each job waits for the one before with --dependency=afterok and is the
# requeue-safe slurm/cropmap.sbatch: a time limit or preemption requeues it and
# it continues with --resume. Because `cropmap run` skips stages complete for the
# configuration, the chain can be submitted again after a failure and picks up
# where it stopped.
#
#   slurm/submit-run.sh configs/france.yaml [extra cropmap arguments...]
#   CROPMAP_DRY_RUN=1 slurm/submit-run.sh configs/france.yaml   # print the sbatch lines only
#
# Defaults (override through the environment):
#   CPU_PARTITION=cpu   CPU_NODES=4  CPU_TASKS_PER_NODE=32  CPU_THREADS=1  CPU_TIME=08:00:00
#   GPU_PARTITION=gpu   GPU_NODES=1  GPUS_PER_NODE=4        GPU_THREADS=8  GPU_TIME=04:00:00
#   MAP_TIME=04:00:00   CROPMAP_BIN=build/cropmap   SBATCH_EXTRA="" (e.g. "--account=abc")
# One rank per GPU on the training job (train.backend: nccl there); GPUS_PER_NODE=0
# trains on CPUs with GPU_TASKS_PER_NODE (default 2) ranks per node. An empty
# partition name leaves --partition out (the cluster's default partition).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/submit-common.sh" submit-run.sh "$@"
shift

cpu_part=${CPU_PARTITION-cpu}
gpu_part=${GPU_PARTITION-gpu}
prep=$(CROPMAP_COMMAND=run submit prepare "" $(partition "$cpu_part") \
  --nodes="${CPU_NODES:-4}" --ntasks-per-node="${CPU_TASKS_PER_NODE:-32}" \
  --cpus-per-task="${CPU_THREADS:-1}" --time="${CPU_TIME:-08:00:00}" -- --until sample "$@")
gpus=${GPUS_PER_NODE:-4}
gpu_opts=(--ntasks-per-node="$gpus" --gpus-per-node="$gpus")
# GPUS_PER_NODE=0: train on CPUs (train.backend: mpi), GPU_TASKS_PER_NODE ranks per node.
[ "$gpus" -eq 0 ] && gpu_opts=(--ntasks-per-node="${GPU_TASKS_PER_NODE:-2}")
train=$(CROPMAP_COMMAND=run submit train "$prep" $(partition "$gpu_part") \
  --nodes="${GPU_NODES:-1}" "${gpu_opts[@]}" \
  --cpus-per-task="${GPU_THREADS:-8}" --time="${GPU_TIME:-04:00:00}" -- --until train "$@")
map=$(CROPMAP_COMMAND=run submit map "$train" $(partition "$cpu_part") \
  --nodes="${CPU_NODES:-4}" --ntasks-per-node="${CPU_TASKS_PER_NODE:-32}" \
  --cpus-per-task="${CPU_THREADS:-1}" --time="${MAP_TIME:-04:00:00}" -- "$@")
echo "cropmap: submitted prepare $prep -> train $train -> map $map (each requeues itself on a time limit)"
