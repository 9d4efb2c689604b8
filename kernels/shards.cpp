#include "shards.hpp"

#include <algorithm>
#include <numeric>

namespace cropmap {

namespace {
// splitmix64: a tiny generator whose output is fixed by its definition, so the
// same seed gives the same shuffle with any standard library.
std::uint64_t splitmix(std::uint64_t& s) {
  std::uint64_t z = (s += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}
std::uint64_t below(std::uint64_t& s, std::uint64_t bound) {
  const std::uint64_t limit = ~std::uint64_t{0} - (~std::uint64_t{0} % bound);
  std::uint64_t v;
  do v = splitmix(s);
  while (v >= limit);
  return v % bound;
}
}  // namespace

std::vector<std::int64_t> epochPermutation(std::int64_t n, std::uint64_t seed, int epoch) {
  std::vector<std::int64_t> p(static_cast<size_t>(n));
  std::iota(p.begin(), p.end(), std::int64_t{0});
  std::uint64_t s = seed * 0x100000001B3ull + static_cast<std::uint64_t>(epoch) + 1;
  for (std::int64_t i = n - 1; i > 0; --i) {
    auto j = static_cast<std::int64_t>(below(s, static_cast<std::uint64_t>(i + 1)));
    std::swap(p[static_cast<size_t>(i)], p[static_cast<size_t>(j)]);
  }
  return p;
}

std::int64_t shardLength(std::int64_t n, int size) { return n / size; }

std::vector<std::int64_t> epochShard(std::int64_t n, std::uint64_t seed, int epoch, int rank, int size) {
  const auto p = epochPermutation(n, seed, epoch);
  const std::int64_t m = shardLength(n, size);
  return std::vector<std::int64_t>(p.begin() + rank * m, p.begin() + (rank + 1) * m);
}

std::int64_t stepsPerEpoch(std::int64_t n, int size, int batch) { return (shardLength(n, size) + batch - 1) / batch; }

std::pair<std::int64_t, std::int64_t> contiguousSlice(std::int64_t n, int rank, int size) {
  const std::int64_t base = n / size, extra = n % size;
  const std::int64_t begin = rank * base + std::min<std::int64_t>(rank, extra);
  return {begin, begin + base + (rank < extra ? 1 : 0)};
}

}  // namespace cropmap
