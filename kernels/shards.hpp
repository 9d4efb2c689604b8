// Which rows of a sample table each rank reads: the epoch shuffle of training
// and the contiguous slices of evaluation. Pure arithmetic, fixed by its
// definition (splitmix64), so the same seed gives the same rows with any
// standard library and any number of ranks agrees on them.
#pragma once

#include <cstdint>
#include <utility>
#include <vector>

namespace cropmap {

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
