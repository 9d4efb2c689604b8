#!/usr/bin/env bash
# The demo: the whole pipeline on the embedded synthetic region, under 2 MPI ranks.
set -euo pipefail
build=${1:-build}
config=${2:-configs/demo.yaml}
cm="$build/cropmap"
mpiexec=${MPIEXEC:-mpiexec}

echo "== cropmap version"
"$cm" version
echo "== cropmap config --config $config"
"$cm" config --config "$config"
echo "== $mpiexec -n 2 cropmap run --config $config"
"$mpiexec" -n 2 "$cm" run --config "$config"
