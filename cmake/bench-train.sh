#!/usr/bin/env bash
# `cropmap bench train` at 1, 2 and 4 ranks, one thread per rank. Each run
# measures its own communicator and writes RUN/bench/train_np<N>.json; the runs
# at 2 and 4 ranks also print their speed-up over the serial one-rank figures.
# usage: cmake/bench-train.sh [BUILD_DIR] [extra cropmap flags, e.g. --steps 50 --set run.output=out/bench]
set -euo pipefail
build=${1:-build}
shift || true
source "$(dirname "$0")/mpi-env.sh"
for n in 1 2 4; do
  mpiexec -n "$n" "$build/cropmap" bench train --set compute.threads=1 "$@"
  echo
done
