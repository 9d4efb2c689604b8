// A small, hand-made region for the labels/split/sample tests: a two-tile cube
// (EPSG:32633, 10 m, tiles overlapping by 640 m) whose reflectance is a known
// function of (tile, period, band, row, col), an INVEKOS-style parcel register
// in EPSG:31287 with special shapes (one pixel wide, triangle, hole, a parcel
// across the tile border, ignored and unknown codes) and a zone layer of two
// regions x four zones. Parcels are drawn in the tile CRS and written
// reprojected, so the test can rasterize the drawn shapes independently.
#pragma once

#include <mpi.h>

#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace cropmap::test {

struct FixtureParcel {
  std::int64_t id;
  std::string code;
  std::string wktUtm;  // as drawn, in EPSG:32633
};

struct LabelsFixture {
  std::string dir, cube, parcels, zones, config;
  std::vector<FixtureParcel> parcels_;
  static constexpr int kSize = 192, kChunk = 32, kPeriods = 3, kBands = 2;
  static constexpr double kX0 = 500000, kY0 = 5300000, kShift = 1280;  // tile B starts kShift east
};

// The reflectance stored at (tile, period, band, row, col).
std::uint16_t fixtureReflectance(int tile, int period, int band, int row, int col);

// Collective over comm: rank 0 writes the vector files and the config, every
// rank takes part in creating the cube. `extraYaml` is appended to the config.
LabelsFixture makeLabelsFixture(const std::string& dir, MPI_Comm comm, const std::string& extraYaml = "");

}  // namespace cropmap::test
