// samples.h5: the training sample table between `cropmap sample` and
// `cropmap train` / `cropmap evaluate` (DESIGN §4), read and written in one place.
//
// Layout (format "cropmap-samples", version 1):
//   /                 attrs format, format_version, class_names[K], class_weights[K]
//                     (n_max / n_c over the train split), band_names[B], band_mean[B],
//                     band_std[B] (of the train split, in the units of x after scaling),
//                     periods[P] (ISO start dates), level ("pixel" | "parcel"), tiles[T]
//   /<split>/x        float32 or uint16 [N, P, B]; uint16 carries attrs scale_factor
//                     (and optionally add_offset): value = raw * scale_factor + add_offset
//   /<split>/y        integer [N], class ids 0..K-1
//   /<split>/parcel   int64 [N] (0 = none); /tile (index into /tiles), /row, /col, /zone
//                     int32 [N]; /fold int32 [N] (-1 = no fold); all optional for readers
// with <split> one of train, val, test.
//
// Training reads with parallel HDF5 through MPI-IO: every rank reads only the
// rows it needs (its shard of an epoch, its slice of a split) as hyperslab
// selections in one collective call. The epoch shuffle and sharding arithmetic
// live here too, so the reader and the tests agree on them.
#pragma once

#include <mpi.h>

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace cropmap {

struct SampleFileInfo {
  std::string path;
  int periods = 0, bands = 0;
  std::vector<std::string> classNames, bandNames, periodStarts, tiles;
  std::vector<double> classWeights, bandMean, bandStd;
  std::string level = "pixel";
  int classes() const { return static_cast<int>(classNames.size()); }
};

// Rows of one split, x already scaled and normalised with the file's band statistics.
struct SampleRows {
  std::int64_t n = 0;
  int periods = 0, bands = 0;
  std::vector<float> x;              // n * periods * bands, row-major [n][p][b]
  std::vector<std::int32_t> y;       // n
  std::vector<std::int64_t> parcel;  // n, or empty when the split has none
  std::vector<std::int32_t> fold;    // n, or empty when the split has none
};

// One split as the writer takes it: either xf (float32) or xu (uint16 with scale).
struct SampleTable {
  std::int64_t n = 0;
  std::vector<float> xf;
  std::vector<std::uint16_t> xu;
  double scaleFactor = 1.0, addOffset = 0.0;  // for xu
  std::vector<std::int32_t> y;
  std::vector<std::int64_t> parcel;
  std::vector<std::int32_t> tile, row, col, zone, fold;  // each optional (empty)
};

// Writes the whole file serially (one process; the sampling stage gathers
// first), to PATH.tmp and renamed into place. Throws std::runtime_error.
void writeSampleFile(const std::string& path, const SampleFileInfo& info,
                     const std::vector<std::pair<std::string, SampleTable>>& splits);

class SampleReader {
 public:
  // Collective over comm. Throws UsageError naming the file and key when the
  // file is missing, is not a cropmap sample table, or has inconsistent shapes.
  SampleReader(const std::string& path, MPI_Comm comm);
  ~SampleReader();
  SampleReader(const SampleReader&) = delete;
  SampleReader& operator=(const SampleReader&) = delete;

  const SampleFileInfo& info() const;
  // Normalise with these band statistics instead of the file's (a model
  // applied to another sample table keeps the statistics it was trained with).
  void setNormalisation(const std::vector<double>& mean, const std::vector<double>& std);
  bool hasSplit(const std::string& split) const;
  std::int64_t rows(const std::string& split) const;  // throws UsageError if absent

  // Collective: every rank passes its own row indices (any order, may be empty).
  // Rows come back in the order given.
  SampleRows read(const std::string& split, const std::vector<std::int64_t>& rows);
  // Collective: rows [begin, end) of a split.
  SampleRows readRange(const std::string& split, std::int64_t begin, std::int64_t end);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// The global permutation of n rows for an epoch: a function of (seed, epoch) only.
std::vector<std::int64_t> epochPermutation(std::int64_t n, std::uint64_t seed, int epoch);
// This rank's rows of the epoch: positions [rank*m, (rank+1)*m) of the
// permutation with m = n / size, so shards are disjoint and equally long; the
// n mod size rows left over differ from epoch to epoch.
std::vector<std::int64_t> epochShard(std::int64_t n, std::uint64_t seed, int epoch, int rank, int size);
std::int64_t shardLength(std::int64_t n, int size);
std::int64_t stepsPerEpoch(std::int64_t n, int size, int batch);
// [begin, end) of a contiguous, balanced split of n rows over size ranks.
std::pair<std::int64_t, std::int64_t> contiguousSlice(std::int64_t n, int rank, int size);

}  // namespace cropmap
