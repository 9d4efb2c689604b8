#!/usr/bin/env bash
# The demo: the whole pipeline on the embedded synthetic region, under 2 MPI ranks.
set -euo pipefail
build=${1:-build}
config=${2:-configs/demo.yaml}
extra=("${@:3}")  # more `cropmap run` flags, e.g. --set cv.enabled=true
cm="$build/cropmap"
mpiexec=${MPIEXEC:-mpiexec}

echo "== cropmap version"
"$cm" version
echo "== cropmap config --config $config"
"$cm" config --config "$config"
echo "== $mpiexec -n 2 cropmap run --config $config ${extra[*]}"
log=$(mktemp)
trap 'rm -f "$log"' EXIT
"$mpiexec" -n 2 "$cm" run --config "$config" "${extra[@]}" | tee "$log"
report=$(awk '$1 == "report" && $2 ~ /index\.html$/ {print $2}' "$log" | tail -n 1)
[ -n "$report" ] || { echo "demo: the run printed no report path" >&2; exit 1; }
echo "== report (open in a browser): $report"
