// samples.h5 written in parallel (DESIGN §4; the layout stages/train's reader
// expects, format "cropmap-samples" version 1):
//   /            attrs format, format_version, level, class_names, class_weights
//                (n_max / n_c over the train rows), class_weights_inverse_frequency,
//                class_counts_train, band_names, band_mean, band_std (train split,
//                in the units of x), periods, tiles, seed, sampling (formula text)
//   /<split>/x   float32 [N, P, B]   reflectance (scaled), NaN where the cube has no data
//   /<split>/y   int16 [N]           class id
//   /<split>/parcel int64, /tile /row /col /zone /fold int32 [N]
// Every rank writes its own contiguous rows [offset, offset + n) of every
// split in one collective call per dataset; a rank without rows takes part
// with an empty selection.
#pragma once

#include <mpi.h>

#include <cstdint>
#include <string>
#include <vector>

namespace cropmap {

struct SampleRowsOut {
  std::int64_t offset = 0, n = 0, total = 0;  // this rank's rows and the split's total
  std::vector<float> x;                       // n * P * B
  std::vector<std::int16_t> y;
  std::vector<std::int64_t> parcel;
  std::vector<std::int32_t> tile, row, col, zone, fold;
};

struct SampleFileAttrs {
  std::string level;
  std::vector<std::string> classNames, bandNames, periods, tiles;
  std::vector<double> classWeights, inverseFrequency, bandMean, bandStd;
  std::vector<std::int64_t> trainCounts;
  std::int64_t seed = 0;
  std::string sampling;
  int periodsCount = 0, bandsCount = 0;
};

// Collective. Writes PATH through a temporary name renamed into place by rank 0.
void writeSamplesParallel(const std::string& path, MPI_Comm comm, const SampleFileAttrs& attrs,
                          const std::vector<std::pair<std::string, SampleRowsOut>>& splits);

}  // namespace cropmap
