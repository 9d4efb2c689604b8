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

# Compositing (after synth has written the region): catalog and cube on 2 ranks.
mpiexec=${MPIEXEC:-mpiexec}
synth_dir=$(sed -n 's/^ *safe: *\[\(.*\)\].*/\1/p' "$config" | head -1)
if [ -n "$synth_dir" ] && [ -d "$synth_dir" ]; then
  echo "== $mpiexec -n 2 cropmap catalog --config $config"
  "$mpiexec" -n 2 "$cm" catalog --config "$config"
  echo "== $mpiexec -n 2 cropmap composite --config $config"
  "$mpiexec" -n 2 "$cm" composite --config "$config"
  h5dump -H "$(sed -n 's/^ *output: *\(.*\)/\1/p' "$config" | head -1)/cube.h5" | head -40
  # Training data: parcels to labels, spatially disjoint splits, stratified samples.
  for stage in labels split sample; do
    echo "== $mpiexec -n 2 cropmap $stage --config $config"
    "$mpiexec" -n 2 "$cm" "$stage" --config "$config"
  done
  # Crop maps: the trained model over every pixel of the cube (after train and evaluate).
  model_file="$(sed -n 's/^ *output: *\(.*\)/\1/p' "$config" | head -1)/train/model.pt"
  if [ -f "$model_file" ]; then
    echo "== $mpiexec -n 2 cropmap predict --config $config"
    "$mpiexec" -n 2 "$cm" predict --config "$config"
  else
    echo "== cropmap predict: skipped, no trained model at $model_file (cropmap train writes it)"
  fi
else
  echo "== cropmap composite: skipped, no Sentinel-2 inputs at '${synth_dir}' (cropmap synth writes them)"
fi
