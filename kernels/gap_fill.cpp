#include "gap_fill.hpp"

#include <vector>

namespace cropmap {

namespace {

// Rounded to nearest, halves up; all terms are non-negative.
inline std::uint16_t lerp(unsigned a, unsigned b, unsigned k, unsigned g) {
  return static_cast<std::uint16_t>((a * (g - k) + b * k + g / 2) / g);
}

}  // namespace

bool fillSeries(std::uint16_t* v, std::size_t stride, const std::uint8_t* available, int periods, GapMode mode) {
  int prev = -1;
  for (int p = 0; p < periods; ++p) {
    if (!available[p]) continue;
    if (prev < 0) {
      for (int q = 0; q < p; ++q) v[q * stride] = v[p * stride];  // leading gap: next value
    } else if (p - prev > 1) {
      const unsigned a = v[prev * stride], b = v[p * stride];
      const unsigned g = static_cast<unsigned>(p - prev);
      for (int q = prev + 1; q < p; ++q)
        v[q * stride] = mode == GapMode::linear ? lerp(a, b, static_cast<unsigned>(q - prev), g)
                                                : static_cast<std::uint16_t>((a + b + 1) / 2);
    }
    prev = p;
  }
  if (prev < 0) return false;
  for (int q = prev + 1; q < periods; ++q) v[q * stride] = v[prev * stride];  // trailing gap: previous value
  return true;
}

std::int64_t fillGaps(std::uint16_t* series, const std::uint8_t* count, int periods, int bands, std::size_t pixels,
                      GapMode mode, std::uint16_t fill, int rowsPerPeriod) {
  std::int64_t empty = 0;
  std::vector<std::uint8_t> avail(static_cast<std::size_t>(periods));
  const std::size_t periodStride = static_cast<std::size_t>(rowsPerPeriod > 0 ? rowsPerPeriod : bands) * pixels;
  for (std::size_t px = 0; px < pixels; ++px) {
    int n = 0;
    for (int p = 0; p < periods; ++p) {
      avail[static_cast<std::size_t>(p)] = count[static_cast<std::size_t>(p) * pixels + px] > 0;
      n += avail[static_cast<std::size_t>(p)];
    }
    if (n == periods) continue;  // the common case: nothing to fill
    if (n == 0) {
      ++empty;
      for (int p = 0; p < periods; ++p)
        for (int b = 0; b < bands; ++b) series[p * periodStride + static_cast<std::size_t>(b) * pixels + px] = fill;
      continue;
    }
    for (int b = 0; b < bands; ++b)
      fillSeries(series + static_cast<std::size_t>(b) * pixels + px, periodStride,
                 avail.data(), periods, mode);
  }
  return empty;
}

}  // namespace cropmap
