#!/usr/bin/env bash
# Cross-validation (`cropmap cv`) as a Slurm job array and a gather job:
#
#   1. cv-task  (array)  cropmap cv --task %a   one task per fold of every model and grid point
#                                               (cv.models + cv.baseline, cv.grid_lr x cv.grid_kernel,
#                                               split.folds): trains without the fold, scores it
#   2. cv       (afterok on the whole array)    cropmap cv --resume: finds every fold done, selects
#                                               the grid, trains and scores the final models, writes
#                                               RUN/cv.output/cv_report.{json,txt}
#
# The table equals that of one `cropmap cv` job. The tasks share the run
# directory: each holds a lock of its own fold (RUN/.cropmap.units/), writes only
# its fold's directory and reads samples.h5; a job holding the whole run (`cropmap
# run`, the gather) and the tasks exclude each other. Both jobs are the
# requeue-safe slurm/cropmap.sbatch, and both pass --resume: a fold already done
# for the same configuration is skipped, so the pair can simply be submitted
# again after a failure.
#
# Needs the run's stages up to sample complete (samples.h5 with folds:
# split.folds >= 2), e.g. after submit-run.sh's prepare job or `cropmap run
# --until sample`: the tasks are counted at submission by `cropmap cv
# --list-tasks`, which reads samples.h5, and the script refuses (exit 2) with
# its message when that cannot be done.
#
#   slurm/submit-cv.sh configs/demo.yaml --set cv.models=[lstm,tempcnn] [extra cropmap arguments...]
#   CROPMAP_DRY_RUN=1 slurm/submit-cv.sh configs/demo.yaml   # print the task list and sbatch lines only
#
# Defaults (override through the environment):
#   CV_PARTITION=cpu  CV_TASKS=1 (ranks per array task)  CV_THREADS=1  CV_GPUS=0 (per task)
#   CV_TIME=02:00:00  CV_MAX_PARALLEL="" (e.g. 8: at most 8 tasks at once, --array=...%8)
#   GATHER_TASKS=$CV_TASKS  GATHER_TIME=$CV_TIME  CROPMAP_BIN=build/cropmap  CROPMAP_LOG_DIR=.
#   SBATCH_EXTRA="" (e.g. "--account=abc"). An empty partition name leaves --partition out.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/submit-common.sh" submit-cv.sh "$@"
shift

# How many tasks: counted by cropmap from the configuration and samples.h5.
if ! list=$("$bin" cv --config "$config" "${overrides[@]}" --list-tasks 2>&1); then
  echo "$list" >&2
  echo "submit-cv.sh: cannot count the cross-validation tasks; the run's stages up to sample must be complete" \
       "(split.folds >= 2), e.g. \`cropmap run --config $config --until sample\` or submit-run.sh's prepare job" >&2
  exit 2
fi
n=$(echo "$list" | awk 'NR == 1 {print $1}')
[[ "$n" =~ ^[0-9]+$ ]] && [ "$n" -gt 0 ] || { echo "$list" >&2; echo "submit-cv.sh: no tasks to run" >&2; exit 2; }
[ "$dry" = 1 ] && echo "$list" >&2

part=${CV_PARTITION-cpu}
gpus=${CV_GPUS:-0}
gpu_opts=()
[ "$gpus" -gt 0 ] && gpu_opts=(--gpus-per-task="$gpus")
array="0-$((n - 1))${CV_MAX_PARALLEL:+%$CV_MAX_PARALLEL}"
tasks=$(CROPMAP_COMMAND=cv submit cv-task "" $(partition "$part") --array="$array" \
  --ntasks="${CV_TASKS:-1}" --cpus-per-task="${CV_THREADS:-1}" "${gpu_opts[@]}" --time="${CV_TIME:-02:00:00}" \
  -- --resume --task %a "$@")
gather=$(CROPMAP_COMMAND=cv submit cv "$tasks" $(partition "$part") \
  --ntasks="${GATHER_TASKS:-${CV_TASKS:-1}}" --cpus-per-task="${CV_THREADS:-1}" "${gpu_opts[@]}" \
  --time="${GATHER_TIME:-${CV_TIME:-02:00:00}}" -- --resume "$@")
echo "cropmap: submitted cv tasks $tasks (array of $n) -> gather $gather (each requeues itself on a time limit)"
