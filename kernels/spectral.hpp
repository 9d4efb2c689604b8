// Per-scene arithmetic before compositing and index bands after it: the SCL
// keep mask, digital numbers to scaled reflectance, nearest-neighbour
// resampling of coarser bands onto the 10 m grid, and normalised differences.
//
// Reflectance is stored as uint16 reflectance x 10000 (scale 1e-4) clamped to
// [0, 65534]; 65535 is the cube's no-data value. Sentinel-2 digital numbers
// become reflectance as (DN + BOA_ADD_OFFSET) / BOA_QUANTIFICATION_VALUE, with
// an offset of -1000 from processing baseline 04.00 on and 0 before. DN 0 is
// Sentinel-2's own no-data and never counts as an observation. Index bands
// are stored like the bands with an add_offset of -1: stored = (index + 1) x 10000.
#pragma once

#include <array>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <vector>

namespace cropmap {

constexpr std::uint16_t kReflectanceFill = 65535;
constexpr double kReflectanceScale = 1e-4;

// A lookup table over the 256 possible SCL codes.
struct SclKeep {
  std::array<std::uint8_t, 256> keep{};
  static SclKeep of(const std::vector<int>& classes);
};

// keep[p] = 1 where scl[p] is a kept class, else 0.
void sclMask(const std::uint8_t* scl, std::size_t n, const SclKeep& lut, std::uint8_t* keep);
// keep[p] = 0 where dn[p] is Sentinel-2 no data (0).
void maskNoData(const std::uint16_t* dn, std::size_t n, std::uint8_t* keep);

// Scaled reflectance (x 10000) from digital numbers, in place allowed.
void toReflectance(const std::uint16_t* dn, std::size_t n, double addOffset, double quantification,
                   std::uint16_t* out);

struct SclSummary {
  std::int64_t pixels = 0;  // all pixels read
  std::int64_t data = 0;    // SCL != 0 (not no-data)
  std::int64_t clear = 0;   // in the kept classes
  double clearFraction() const { return data > 0 ? static_cast<double>(clear) / static_cast<double>(data) : 0.0; }
};
SclSummary summariseScl(const std::uint8_t* scl, std::size_t n, const SclKeep& lut);

// Nearest-neighbour resampling of a source window onto a finer target window.
// The target pixel (row, col) of a window starting at (row0, col0) in target
// grid coordinates samples source pixel floor((row0 + row + 0.5) * ratio) -
// srcRow0, with ratio = source pixel count / target pixel count (0.5 for
// 20 m -> 10 m). The source window must cover the samples.
template <class T>
void upsampleNearest(const T* src, int srcCols, int srcRow0, int srcCol0, double ratio, int row0, int col0, int rows,
                     int cols, T* dst) {
  std::vector<int> colIndex(static_cast<std::size_t>(cols));
  for (int c = 0; c < cols; ++c)
    colIndex[static_cast<std::size_t>(c)] = static_cast<int>(std::floor((col0 + c + 0.5) * ratio)) - srcCol0;
  for (int r = 0; r < rows; ++r) {
    const int sr = static_cast<int>(std::floor((row0 + r + 0.5) * ratio)) - srcRow0;
    const T* srow = src + static_cast<std::size_t>(sr) * static_cast<std::size_t>(srcCols);
    T* drow = dst + static_cast<std::size_t>(r) * static_cast<std::size_t>(cols);
    for (int c = 0; c < cols; ++c) drow[c] = srow[colIndex[static_cast<std::size_t>(c)]];
  }
}

// out = ((a - b) / (a + b) + 1) x 10000 from scaled reflectances; fill where
// either input is fill; 10000 (index 0) where a + b = 0.
void normalizedDifference(const std::uint16_t* a, const std::uint16_t* b, std::size_t n, std::uint16_t* out);

}  // namespace cropmap
