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

// Lane-wise compare-exchange of two distinct rows of kLanes values.
inline void compareRows(std::int16_t* __restrict a, std::int16_t* __restrict b) {
  for (std::size_t i = 0; i < MedianScratch::kLanes; ++i) {
    const std::int16_t x = a[i], y = b[i];
    a[i] = x < y ? x : y;
    b[i] = x < y ? y : x;
  }
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

void periodMedian(const PeriodObservations& in, const PeriodComposite& result, MedianScratch& scratch) {
  const std::uint16_t* obs = in.values;
  const std::uint8_t* keep = in.keep;
  const int scenes = in.scenes, bands = in.bands;
  const std::size_t pixels = in.pixels;
  std::uint16_t* out = result.median;
  std::uint8_t* count = result.count;
  const std::uint16_t fill = result.fill;
  constexpr std::size_t L = MedianScratch::kLanes;
  assert(scenes >= 0 && scenes <= kMaxScenesPerPeriod);
  // Counts first: they decide where each pixel's median sits.
  std::fill(count, count + pixels, std::uint8_t{0});
  for (int s = 0; s < scenes; ++s) {
    const std::uint8_t* k = keep + static_cast<std::size_t>(s) * pixels;
    for (std::size_t p = 0; p < pixels; ++p) count[p] = static_cast<std::uint8_t>(count[p] + (k[p] != 0));
  }
  if (scenes == 0) {
    std::fill(out, out + static_cast<std::size_t>(bands) * pixels, fill);
    return;
  }
  if (scratch.networkInputs != scenes) {
    // Rows at or beyond `scenes` would hold the padding (the largest value)
    // and keep it through every comparator, so comparators touching them are
    // dropped: a network for exactly `scenes` rows.
    scratch.network.clear();
    for (const auto& c : sortingNetwork(scenes))
      if (c.second < scenes) scratch.network.push_back(c);
    scratch.networkInputs = scenes;
  }
  scratch.rows.resize(static_cast<std::size_t>(scenes) * L);
  // Rows hold value ^ 0x8000 as int16: the same order as uint16, and SSE2 has
  // signed 16-bit min/max, so the comparator loops vectorise on any x86-64.
  std::int16_t* rows = reinterpret_cast<std::int16_t*>(scratch.rows.data());
  constexpr std::int16_t kPad = std::numeric_limits<std::int16_t>::max();

  for (int b = 0; b < bands; ++b) {
    std::uint16_t* outBand = out + static_cast<std::size_t>(b) * pixels;
    for (std::size_t p0 = 0; p0 < pixels; p0 += L) {
      const std::size_t n = std::min(L, pixels - p0);
      for (int s = 0; s < scenes; ++s) {
        const std::uint16_t* src = obs + (static_cast<std::size_t>(s) * bands + b) * pixels + p0;
        const std::uint8_t* k = keep + static_cast<std::size_t>(s) * pixels + p0;
        std::int16_t* row = rows + static_cast<std::size_t>(s) * L;
        // Branch-free select so the loop vectorises.
        for (std::size_t i = 0; i < n; ++i) {
          const auto v = static_cast<std::int16_t>(src[i] ^ 0x8000u);
          const auto m = static_cast<std::int16_t>(-static_cast<int>(k[i] != 0));
          row[i] = static_cast<std::int16_t>((v & m) | (kPad & ~m));
        }
        for (std::size_t i = n; i < L; ++i) row[i] = kPad;
      }
      for (const auto& cmp : scratch.network)
        compareRows(rows + static_cast<std::size_t>(cmp.first) * L, rows + static_cast<std::size_t>(cmp.second) * L);
      for (std::size_t i = 0; i < n; ++i) {
        const unsigned c = count[p0 + i];
        if (c == 0) {
          outBand[p0 + i] = fill;
          continue;
        }
        const auto lo = static_cast<std::uint16_t>(rows[static_cast<std::size_t>((c - 1) / 2) * L + i] ^ 0x8000);
        const auto hi = static_cast<std::uint16_t>(rows[static_cast<std::size_t>(c / 2) * L + i] ^ 0x8000);
        outBand[p0 + i] = midpoint(lo, hi);
      }
    }
  }
}

}  // namespace cropmap
