#!/usr/bin/env bash
# Time, peak memory per rank and bytes moved of synth -> composite -> predict on
# one synthetic Sentinel-2 tile of SIZE x SIZE px, at each scene count of COUNTS,
# on RANKS MPI ranks (README "Full-size tile"). Not a test: a full tile needs
# ~16 GB of disk for the cube and 1 GB per scene for the inputs, and minutes.
#
#   bash cmake/full-tile.sh BUILD OUT SIZE "COUNTS" [--set key=value ...]
#   e.g. bash cmake/full-tile.sh build /scratch/ft 10980 "6 12"
#
# Synthesises max(COUNTS) acquisitions once (configs/full_tile.yaml, per-band
# COGs); a smaller count composites an evenly spread subset of them. Predict
# applies MODEL (a model.pt trained on the same configuration) or, without
# MODEL, one trained here with labels -> split -> sample -> train (not timed
# as part of the table). Each rank runs under /usr/bin/time -v; cropmap's own
# load report adds peak RSS and bytes read/written (rchar/wchar) per rank.
# Finally the cube's bytes are copied once more with dd conv=fdatasync on the
# same file system, for comparison with the cube's write rate. SYNTH=0 reuses
# the inputs of an earlier run; KEEP=1 keeps the cubes.
set -euo pipefail
build=$1 out=$2 size=$3 counts=$4
shift 4
extra=("$@")
cm="$(cd "$(dirname "$build/cropmap")" && pwd)/cropmap"
ranks=${RANKS:-2}
mpiexec=${MPIEXEC:-mpiexec}
config=${CONFIG:-configs/full_tile.yaml}
root="$out/$size"
mkdir -p "$root"
max=0
for n in $counts; do ((n > max)) && max=$n; done
common=(--config "$config" --set synth.size="$size" --set synth.scenes="$max" "${extra[@]}")

# run_ranks NAME cropmap-args...: every rank under /usr/bin/time -v (NAME.rankR),
# the log in NAME.log, the wall time in NAME.wall.
run_ranks() {
  local name=$1
  shift
  local t0 t1
  t0=$(date +%s.%N)
  "$mpiexec" -n "$ranks" bash -c \
    'exec /usr/bin/time -v -o "$0.rank${OMPI_COMM_WORLD_RANK:-${PMIX_RANK:-0}}" "$@"' \
    "$root/$name" "$cm" "$@" 2>&1 | tee "$root/$name.log"
  t1=$(date +%s.%N)
  echo "$t1 - $t0" | bc > "$root/$name.wall"
}

if [ "${SYNTH:-1}" = 1 ]; then
  echo "== synth: $size px, $max scenes, $ranks ranks -> $root"
  run_ranks synth synth "${common[@]}" --set run.output="$root"
fi

model=${MODEL:-}
if [ -z "$model" ]; then
  echo "== training a model on this region (not part of the measurement)"
  for stage in composite labels split sample train; do
    "$mpiexec" -n "$ranks" "$cm" "$stage" "${common[@]}" --set run.output="$root/train" \
      --set synth.enabled=false --set inputs.geotiff="[$root/synth/geotiff]" \
      --set labels.parcels="$root/synth/parcels.gpkg" > "$root/train.$stage.log" 2>&1 \
      || { cat "$root/train.$stage.log"; exit 1; }
  done
  model="$root/train/train/model.pt"
  rm -f "$root/train/cube.h5"
fi

for n in $counts; do
  run="$root/s$n"
  inputs="$root/synth/geotiff"
  if ((n < max)); then
    # An evenly spread subset of the dates, as links.
    inputs="$run-inputs"
    rm -rf "$inputs" && mkdir -p "$inputs/33UVP"
    mapfile -t dates < <(ls "$root/synth/geotiff"/*/ | sed -n 's/.*_\([0-9]\{8\}\)_B02\.tif$/\1/p' | sort -u)
    for ((i = 0; i < n; i++)); do
      d=${dates[$(((2 * i + 1) * ${#dates[@]} / (2 * n)))]}
      for f in "$root"/synth/geotiff/*/*_"$d"_*.tif; do
        mkdir -p "$inputs/$(basename "$(dirname "$f")")"
        ln -s "$f" "$inputs/$(basename "$(dirname "$f")")/"
      done
    done
  fi
  mkdir -p "$run"
  echo "== composite: $n scenes"
  run_ranks "s$n.composite" composite "${common[@]}" --set run.output="$run" --set synth.enabled=false \
    --set inputs.geotiff="[$inputs]"
  t0=$(date +%s.%N)
  sync -f "$run/cube.h5"
  echo "$(date +%s.%N) - $t0" | bc > "$root/s$n.composite.sync"
  echo "== predict: $n scenes"
  run_ranks "s$n.predict" predict "${common[@]}" --set run.output="$run" --set synth.enabled=false \
    --set predict.model="$model"
  # The cube's own bytes (read from the page cache first: zeros may be elided by a virtual disk).
  echo "== dd conv=fdatasync of the cube's $(stat -c %s "$run/cube.h5") bytes"
  cat "$run/cube.h5" > /dev/null
  dd if="$run/cube.h5" of="$run/dd.bin" bs=16M conv=fdatasync 2>&1 | tail -n 1 | tee "$root/s$n.dd"
  rm -f "$run/dd.bin"
  [ "${KEEP:-0}" = 1 ] || rm -f "$run/cube.h5"
done

echo "== per rank (from /usr/bin/time -v): stage, rank, wall s, peak RSS MB, fs in/out MB"
for f in "$root"/*.rank*; do
  name=$(basename "$f")
  stage=${name%.rank*}
  rss=$(awk -F': ' '/Maximum resident/ {printf "%.0f", $2 * 1024 / 1e6}' "$f")
  fin=$(awk -F': ' '/File system inputs/ {printf "%.0f", $2 * 512 / 1e6}' "$f")
  fout=$(awk -F': ' '/File system outputs/ {printf "%.0f", $2 * 512 / 1e6}' "$f")
  printf "%-16s %-6s %8.1f %8s %8s %8s\n" "$stage" "${name##*.}" "$(cat "$root/$stage.wall")" "$rss" "$fin" "$fout"
done
