#include "median.hpp"

#include <algorithm>
#include <cassert>
#include <limits>

namespace cropmap {

std::vector<std::pair<int, int>> sortingNetwork(int n) {
  int p2 = 1;
  while (p2 < n) p2 <<= 1;
  std::vector<std::pair<int, int>> cmp;
  // Knuth's formulation of Batcher's odd-even merge sort (TAOCP 5.2.2 M).
  for (int p = 1; p < p2; p <<= 1)
    for (int k = p; k >= 1; k >>= 1)
      for (int j = k % p; j + k < p2; j += 2 * k)
        for (int i = 0; i < std::min(k, p2 - j - k); ++i)
          if ((i + j) / (2 * p) == (i + j + k) / (2 * p)) cmp.emplace_back(i + j, i + j + k);
  return cmp;
}

namespace {

inline void compareExchange(std::uint16_t& a, std::uint16_t& b) {
  const std::uint16_t lo = std::min(a, b), hi = std::max(a, b);
  a = lo;
  b = hi;
}

inline std::uint16_t midpoint(std::uint16_t lo, std::uint16_t hi) {
  return static_cast<std::uint16_t>((static_cast<unsigned>(lo) + hi + 1u) >> 1);
}

// Networks for 8 and 16 inputs, spelled out so the compiler keeps the values in registers.
template <int N>
void sortFixed(std::uint16_t* v) {
  static const std::vector<std::pair<int, int>> net = sortingNetwork(N);
  for (const auto& [a, b] : net) compareExchange(v[a], v[b]);
}

}  // namespace

std::uint16_t medianOf(std::uint16_t* values, int n) {
  assert(n >= 1);
  constexpr std::uint16_t kPad = std::numeric_limits<std::uint16_t>::max();
  if (n == 1) return values[0];
  if (n == 2) return midpoint(std::min(values[0], values[1]), std::max(values[0], values[1]));
  if (n <= 8) {
    std::uint16_t v[8];
    for (int i = 0; i < 8; ++i) v[i] = i < n ? values[i] : kPad;
    sortFixed<8>(v);
    return midpoint(v[(n - 1) / 2], v[n / 2]);
  }
  if (n <= 16) {
    std::uint16_t v[16];
    for (int i = 0; i < 16; ++i) v[i] = i < n ? values[i] : kPad;
    sortFixed<16>(v);
    return midpoint(v[(n - 1) / 2], v[n / 2]);
  }
  std::nth_element(values, values + n / 2, values + n);
  const std::uint16_t hi = values[n / 2];
  if (n % 2) return hi;
  const std::uint16_t lo = *std::max_element(values, values + n / 2);
  return midpoint(lo, hi);
}

void periodMedian(const std::uint16_t* obs, const std::uint8_t* keep, int scenes, int bands, std::size_t pixels,
                  std::uint16_t* out, std::uint8_t* count, std::uint16_t fill, MedianScratch& scratch) {
  constexpr std::uint16_t kPad = std::numeric_limits<std::uint16_t>::max();
  constexpr std::size_t L = MedianScratch::kLanes;
  assert(scenes >= 0 && scenes <= kMaxScenesPerPeriod);
  // Counts first: they decide where each pixel's median sits.
  for (std::size_t p = 0; p < pixels; ++p) {
    unsigned c = 0;
    for (int s = 0; s < scenes; ++s) c += keep[static_cast<std::size_t>(s) * pixels + p] != 0;
    count[p] = static_cast<std::uint8_t>(c);
  }
  if (scenes == 0) {
    std::fill(out, out + static_cast<std::size_t>(bands) * pixels, fill);
    return;
  }
  int padded = 1;
  while (padded < scenes) padded <<= 1;
  if (scratch.networkInputs != padded) {
    scratch.network = sortingNetwork(padded);
    scratch.networkInputs = padded;
  }
  scratch.rows.resize(static_cast<std::size_t>(padded) * L);
  std::uint16_t* rows = scratch.rows.data();

  for (int b = 0; b < bands; ++b) {
    std::uint16_t* outBand = out + static_cast<std::size_t>(b) * pixels;
    for (std::size_t p0 = 0; p0 < pixels; p0 += L) {
      const std::size_t n = std::min(L, pixels - p0);
      for (int s = 0; s < scenes; ++s) {
        const std::uint16_t* src = obs + (static_cast<std::size_t>(s) * bands + b) * pixels + p0;
        const std::uint8_t* k = keep + static_cast<std::size_t>(s) * pixels + p0;
        std::uint16_t* row = rows + static_cast<std::size_t>(s) * L;
        for (std::size_t i = 0; i < n; ++i) row[i] = k[i] ? src[i] : kPad;
        for (std::size_t i = n; i < L; ++i) row[i] = kPad;
      }
      for (int s = scenes; s < padded; ++s) std::fill(rows + static_cast<std::size_t>(s) * L, rows + (s + 1) * L, kPad);
      for (const auto& [a, c] : scratch.network) {
        std::uint16_t* ra = rows + static_cast<std::size_t>(a) * L;
        std::uint16_t* rc = rows + static_cast<std::size_t>(c) * L;
        for (std::size_t i = 0; i < L; ++i) {
          const std::uint16_t x = ra[i], y = rc[i];
          ra[i] = x < y ? x : y;
          rc[i] = x < y ? y : x;
        }
      }
      for (std::size_t i = 0; i < n; ++i) {
        const unsigned c = count[p0 + i];
        if (c == 0) {
          outBand[p0 + i] = fill;
          continue;
        }
        outBand[p0 + i] = midpoint(rows[static_cast<std::size_t>((c - 1) / 2) * L + i], rows[static_cast<std::size_t>(c / 2) * L + i]);
      }
    }
  }
}

}  // namespace cropmap
