#!/usr/bin/env bash
# Installs the Debian 12 packages cropmap builds and runs with, only those missing.
# Idempotent; waits for the dpkg lock; prints what it installs. Without root it
# prints the exact apt-get line that is needed and fails.
set -euo pipefail

PACKAGES=(
  cmake g++ make pkg-config git
  libopenmpi-dev openmpi-bin libhdf5-openmpi-dev hdf5-tools
  libgdal-dev gdal-bin
  libtorch-dev libopenblas0-openmp libblas-dev libgloo-dev
  libboost-program-options-dev libyaml-cpp-dev libgtest-dev
  libxgboost-dev
  slurm-wlm munge
  # format checks of the tests: GDAL's COG validator, xarray/netCDF on the
  # cube, a headless browser for the HTML report
  python3-gdal python3-xarray python3-h5netcdf netcdf-bin chromium
)

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "cropmap: all build and run-time packages are installed"
  exit 0
fi

line="apt-get install -y --no-install-recommends ${missing[*]}"
if [ "$(id -u)" -ne 0 ]; then
  echo "cropmap: missing Debian packages: ${missing[*]}" >&2
  echo "cropmap: as root, run:  apt-get update && $line" >&2
  exit 1
fi

echo "cropmap: installing missing Debian packages: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get -o DPkg::Lock::Timeout=600 update -q
apt-get -o DPkg::Lock::Timeout=600 install -y -q --no-install-recommends "${missing[@]}"
echo "cropmap: installed ${missing[*]}"
