# Sourced by slurm/submit-*.sh: checks CONFIG and the cropmap binary, validates
# the configuration with the --set overrides among the cropmap arguments, and
# defines submit(), which sbatches slurm/cropmap.sbatch (or prints the sbatch
# line with CROPMAP_DRY_RUN=1).
# usage (from a script): source submit-common.sh SCRIPT-NAME CONFIG [cropmap arguments...]
script=$1
config=${2:-}
[ -n "$config" ] || { echo "usage: $script CONFIG.yaml [cropmap arguments...]" >&2; exit 2; }
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
bin=${CROPMAP_BIN:-build/cropmap}
[ -f "$config" ] || { echo "$script: $config does not exist" >&2; exit 2; }
[ -x "$bin" ] || { echo "$script: $bin is not an executable; set CROPMAP_BIN" >&2; exit 2; }
# The --set overrides among the cropmap arguments.
overrides=()
prev=
for a in "${@:3}"; do
  [ "$prev" = --set ] && overrides+=(--set "$a")
  [[ "$a" == --set=* ]] && overrides+=("$a")
  prev=$a
done
"$bin" config --config "$config" "${overrides[@]}" >/dev/null || exit $?

read -r -a extra <<< "${SBATCH_EXTRA:-}"
partition() { [ -n "$1" ] && echo "--partition=$1" || true; }
logs=${CROPMAP_LOG_DIR:-.}
dry=${CROPMAP_DRY_RUN:-0}

submit() {  # name dependency sbatch-options... -- cropmap arguments...; prints the job id
  local name=$1 dep=$2; shift 2
  local opts=() log="$logs/cropmap-$name-%j.out"
  while [ "$1" != "--" ]; do
    [[ "$1" == --array=* ]] && log="$logs/cropmap-$name-%A_%a.out"  # one log per array task
    opts+=("$1"); shift
  done
  shift
  local line=(sbatch --parsable --job-name="cropmap-$name" --output="$log"
              ${dep:+--dependency=afterok:$dep} "${opts[@]}" "${extra[@]}" "$here/cropmap.sbatch" "$@")
  if [ "$dry" = 1 ]; then
    echo "${line[*]}" >&2
    echo "<$name>"
  else
    CROPMAP_BIN="$bin" CROPMAP_CONFIG="$config" "${line[@]}"
  fi
}
export CROPMAP_BIN="$bin" CROPMAP_CONFIG="$config"
