// Small, learnable sample tables in the samples.h5 format, for the training
// tests: each class has its own seasonal profile per band (a bell-shaped green-up
// at a class-specific month), every row adds noise and a random shift of its
// amplitude. Classes are imbalanced so the majority-class rate is a real bar.
#pragma once

#include <cstdint>
#include <string>

#include "kernels/shards.hpp"
#include "pipeline/samples.hpp"

namespace cropmap::test {

struct SyntheticSamples {
  std::int64_t train = 1600, val = 400, test = 400;  // rows per split (whole parcels of 4 pixels)
  int classes = 4, periods = 12, bands = 4;
  double noise = 0.2;
  std::uint64_t seed = 7;
  bool uint16 = false;  // store x as uint16 reflectance x 10000 with scale_factor
  int folds = 0;        // > 0: a fold column on the test split
  double missing = 0;   // share of float x values stored as NaN (no data in the cube), after the statistics
};

// Writes PATH; returns the metadata written (class names, band statistics, ...).
SampleFileInfo writeSyntheticSamples(const std::string& path, const SyntheticSamples& spec = {});

}  // namespace cropmap::test
