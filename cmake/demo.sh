#!/usr/bin/env bash
# The demo: everything cropmap can do, end to end, on the embedded synthetic region.
set -euo pipefail
build=${1:-build}
config=${2:-configs/demo.yaml}
cm="$build/cropmap"

echo "== cropmap version"
"$cm" version
echo "== cropmap config --config $config"
"$cm" config --config "$config"
"$cm" config --config "$config" --dump --plain
echo "== mpirun -n 2 cropmap synth --config $config"
mpirun -n 2 "$cm" synth --config "$config"
