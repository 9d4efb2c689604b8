// Per-scene arithmetic before compositing and index bands after it: the SCL
// keep mask, digital numbers to scaled reflectance, nearest or bilinear
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

// Resampling of a coarser band (20 m, 60 m) onto a finer target window of a
// grid it nests in (same origin, pixel size 1 / ratio times the target's).
// Target pixel (row, col) of a window starting at (row0, col0) in target grid
// coordinates has its centre at source coordinate (row0 + row + 0.5) * ratio.
// nearest: the source pixel holding that centre. bilinear: the four source
// pixels around it weighted by distance, leaving out value 0 (Sentinel-2 no
// data; all four 0 gives 0), rounded. Both clamp to the source window, so the
// edge of a clipped product whose coarse extent stops short of the fine one
// repeats the last coarse pixel. The window must hold every source pixel a
// target pixel uses (sourceSpan() says which).
enum class Resampling { nearest, bilinear };

template <class T>
struct SourceWindow {
  const T* data;
  int row0, col0;  // of the window in the source raster
  int rows, cols;
};

// First and last source row (or column) that target rows [first, first + count)
// use, before clamping to the source raster.
inline std::array<int, 2> sourceSpan(int first, int count, double ratio, Resampling how) {
  if (how == Resampling::nearest)
    return {static_cast<int>(std::floor((first + 0.5) * ratio)),
            static_cast<int>(std::floor((first + count - 0.5) * ratio))};
  return {static_cast<int>(std::floor((first + 0.5) * ratio - 0.5)),
          static_cast<int>(std::floor((first + count - 0.5) * ratio - 0.5)) + 1};
}

template <class T>
void upsample(const SourceWindow<T>& src, double ratio, int row0, int col0, int rows, int cols, Resampling how,
              T* dst) {
  const auto clampTo = [](int v, int n) { return v < 0 ? 0 : v >= n ? n - 1 : v; };
  const auto at = [&](int r, int c) {
    return src.data[static_cast<std::size_t>(r) * static_cast<std::size_t>(src.cols) + static_cast<std::size_t>(c)];
  };
  if (how == Resampling::nearest) {
    std::vector<int> colIndex(static_cast<std::size_t>(cols));
    for (int c = 0; c < cols; ++c)
      colIndex[static_cast<std::size_t>(c)] =
          clampTo(static_cast<int>(std::floor((col0 + c + 0.5) * ratio)) - src.col0, src.cols);
    for (int r = 0; r < rows; ++r) {
      const int sr = clampTo(static_cast<int>(std::floor((row0 + r + 0.5) * ratio)) - src.row0, src.rows);
      T* drow = dst + static_cast<std::size_t>(r) * static_cast<std::size_t>(cols);
      for (int c = 0; c < cols; ++c) drow[c] = at(sr, colIndex[static_cast<std::size_t>(c)]);
    }
    return;
  }
  struct Tap {
    int a, b;
    double wb;  // weight of b; a gets 1 - wb
  };
  const auto tap = [&](int target, int origin, int n) {
    const double s = (target + 0.5) * ratio - 0.5;
    const double f = std::floor(s);
    const int a = static_cast<int>(f) - origin;
    return Tap{clampTo(a, n), clampTo(a + 1, n), s - f};
  };
  std::vector<Tap> colTaps(static_cast<std::size_t>(cols));
  for (int c = 0; c < cols; ++c) colTaps[static_cast<std::size_t>(c)] = tap(col0 + c, src.col0, src.cols);
  for (int r = 0; r < rows; ++r) {
    const Tap tr = tap(row0 + r, src.row0, src.rows);
    T* drow = dst + static_cast<std::size_t>(r) * static_cast<std::size_t>(cols);
    for (int c = 0; c < cols; ++c) {
      const Tap& tc = colTaps[static_cast<std::size_t>(c)];
      const T v[4] = {at(tr.a, tc.a), at(tr.a, tc.b), at(tr.b, tc.a), at(tr.b, tc.b)};
      const double w[4] = {(1 - tr.wb) * (1 - tc.wb), (1 - tr.wb) * tc.wb, tr.wb * (1 - tc.wb), tr.wb * tc.wb};
      double sum = 0, weight = 0;
      for (int k = 0; k < 4; ++k)
        if (v[k] != 0) {
          sum += w[k] * static_cast<double>(v[k]);
          weight += w[k];
        }
      drow[c] = weight > 0 ? static_cast<T>(std::lround(sum / weight)) : T{0};
    }
  }
}

// out = ((a - b) / (a + b) + 1) x 10000 from scaled reflectances; fill where
// either input is fill; 10000 (index 0) where a + b = 0.
void normalizedDifference(const std::uint16_t* a, const std::uint16_t* b, std::size_t n, std::uint16_t* out);

}  // namespace cropmap
