#include "spectral.hpp"

#include <algorithm>

namespace cropmap {

SclKeep SclKeep::of(const std::vector<int>& classes) {
  SclKeep k;
  for (int c : classes)
    if (c >= 0 && c < 256) k.keep[static_cast<std::size_t>(c)] = 1;
  return k;
}

void sclMask(const std::uint8_t* scl, std::size_t n, const SclKeep& lut, std::uint8_t* keep) {
  for (std::size_t i = 0; i < n; ++i) keep[i] = lut.keep[scl[i]];
}

void maskNoData(const std::uint16_t* dn, std::size_t n, std::uint8_t* keep) {
  for (std::size_t i = 0; i < n; ++i) keep[i] = static_cast<std::uint8_t>(keep[i] & (dn[i] != 0));
}

void toReflectance(const std::uint16_t* dn, std::size_t n, double addOffset, double quantification,
                   std::uint16_t* out) {
  const double scale = 10000.0 / quantification;
  if (scale == 1.0 && addOffset == std::floor(addOffset)) {
    // The usual case (quantification 10000): integer arithmetic, no rounding.
    const int off = static_cast<int>(addOffset);
    for (std::size_t i = 0; i < n; ++i) {
      const int v = static_cast<int>(dn[i]) + off;
      out[i] = static_cast<std::uint16_t>(std::clamp(v, 0, 65534));
    }
    return;
  }
  for (std::size_t i = 0; i < n; ++i) {
    const double v = std::floor((dn[i] + addOffset) * scale + 0.5);
    out[i] = static_cast<std::uint16_t>(std::clamp(v, 0.0, 65534.0));
  }
}

SclSummary summariseScl(const std::uint8_t* scl, std::size_t n, const SclKeep& lut) {
  SclSummary s;
  s.pixels = static_cast<std::int64_t>(n);
  for (std::size_t i = 0; i < n; ++i) {
    s.data += scl[i] != 0;
    s.clear += lut.keep[scl[i]];
  }
  return s;
}

void normalizedDifference(const std::uint16_t* a, const std::uint16_t* b, std::size_t n, std::uint16_t* out) {
  for (std::size_t i = 0; i < n; ++i) {
    if (a[i] == kReflectanceFill || b[i] == kReflectanceFill) {
      out[i] = kReflectanceFill;
      continue;
    }
    const double s = static_cast<double>(a[i]) + b[i];
    const double nd = s > 0 ? (static_cast<double>(a[i]) - b[i]) / s : 0.0;
    out[i] = static_cast<std::uint16_t>(std::floor((nd + 1.0) * 10000.0 + 0.5));
  }
}

}  // namespace cropmap
