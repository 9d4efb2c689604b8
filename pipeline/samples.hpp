// samples.h5: the sample table between `cropmap sample` and `cropmap train` /
// `cropmap evaluate` (DESIGN §4). This module is its one owner: the layout is
// written and read here, through pipeline/h5, and nowhere else.
//
// Layout (format "cropmap-samples", version 1):
//   /                 attrs format, format_version, level ("pixel" | "parcel"),
//                     class_names[K], class_weights[K] (n_max / n_c over the train
//                     rows), class_weights_inverse_frequency[K], class_counts_train[K],
//                     band_names[B], band_mean[B], band_std[B] (of the train split, in
//                     the units of x), periods[P] (ISO start dates), tiles[T], seed,
//                     sampling (the selection formula, as text)
//   /<split>/x        float32 [N, P, B], NaN where the cube has no data; or uint16
//                     with attrs scale_factor (and add_offset): value = raw * scale + offset
//   /<split>/y        int16 [N], class ids 0..K-1
//   /<split>/parcel   int64 [N] (0 = none); /tile (index into /tiles), /row, /col,
//                     /zone int32 [N]; /fold int32 [N] (-1 = no fold); /fold_buffer
//                     int32 [N] (bit k: within split.buffer_m of fold k's held-out
//                     area); each optional
// with <split> one of train, val, test, and cv: with split.folds >= 2, rows drawn
// in proportion to the classes from the training and validation zones together,
// each with its fold, on which `cropmap evaluate --fold K` scores fold K (the
// train rows are stratified, so they would misstate the class mix).
// Root attribute folds (0 = no cross-validation).
//
// Writing is collective: every rank writes its own contiguous rows [offset,
// offset + n) of every split in one collective call per dataset, into a
// temporary file that rank 0 renames into place. Reading is collective too:
// every rank reads only the rows it needs (its shard of an epoch, its slice of
// a split) as one selection of row runs.
#pragma once

#include <mpi.h>

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace cropmap {

class Comm;

struct SampleFileInfo {
  std::string path;
  int periods = 0, bands = 0;
  std::string level = "pixel";
  std::vector<std::string> classNames, bandNames, periodStarts, tiles;
  std::vector<double> classWeights, inverseFrequency, bandMean, bandStd;
  std::vector<std::int64_t> trainCounts;
  std::int64_t seed = 0;
  int folds = 0;  // split.folds when the table was drawn (>= 2: cross-validation columns and /cv)
  std::string sampling;
  int classes() const { return static_cast<int>(classNames.size()); }
};

// One split as a rank writes it: its rows [offset, offset + n) of `total`.
// Optional columns are written when any rank gives them (then with n values).
struct SampleSplit {
  std::int64_t offset = 0, n = 0, total = 0;
  std::vector<float> x;                // n * P * B, float32; or
  std::vector<std::uint16_t> xu;       // n * P * B, uint16 with scale
  double scaleFactor = 1.0, addOffset = 0.0;
  std::vector<std::int16_t> y;
  std::vector<std::int64_t> parcel;
  std::vector<std::int32_t> tile, row, col, zone, fold, foldBuffer;
};

// Collective over comm. Writes PATH through a temporary name renamed into
// place. Comm::serial() writes the whole table from one process, without MPI.
void writeSamples(const std::string& path, const Comm& comm, const SampleFileInfo& info,
                  const std::vector<std::pair<std::string, SampleSplit>>& splits);

// Rows of one split, x already scaled and normalised with the file's band statistics.
struct SampleRows {
  std::int64_t n = 0;
  int periods = 0, bands = 0;
  std::vector<float> x;              // n * periods * bands, row-major [n][p][b]
  std::vector<std::int32_t> y;       // n
  std::vector<std::int64_t> parcel;  // n, or empty when the split has none
  std::vector<std::int32_t> fold;    // n, or empty when the split has none
};

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
  // Collective: every row of an integer column of a split (y, fold,
  // fold_buffer, zone, ...), as int32; empty when the split has no such column.
  std::vector<std::int32_t> column(const std::string& split, const std::string& name);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// The rows of a split that cross-validation fold `fold` uses (collective):
// with heldOut false the rows it trains or validates on (other folds, outside
// the fold's buffer), with heldOut true the rows it is scored on (the fold's
// own). fold < 0: every row. Throws UsageError naming the file when the table
// has no folds or fewer than fold + 1.
std::vector<std::int64_t> foldRows(SampleReader& reader, const std::string& split, int fold, bool heldOut);
// Rows per class that each fold uses of a split (collective; one read of its
// fold, fold_buffer and y columns): [fold][class].
std::vector<std::vector<std::int64_t>> foldClassCounts(SampleReader& reader, const std::string& split);
// Rows per class among `rows` of a split (collective): the training counts of
// a fold. fold < 0 runs use the file's class_counts_train instead.
std::vector<std::int64_t> classCounts(SampleReader& reader, const std::string& split,
                                      const std::vector<std::int64_t>& rows);

}  // namespace cropmap
