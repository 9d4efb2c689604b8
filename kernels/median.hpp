// Per-pixel, per-band median of the clear observations of one period.
//
// The observations of a period arrive as whole scenes: obs[s][b][pixel] and a
// keep mask keep[s][pixel]. Rather than gathering each pixel's values into a
// vector and sorting it, the kernel works on rows of many pixels at once:
// masked observations are replaced by the largest uint16 value, the scene rows
// are sorted lane-wise by a fixed Batcher odd-even merge network (min/max on
// contiguous rows, which the compiler vectorises; comparators that only touch
// padding are dropped), and each pixel reads its
// median at positions (n-1)/2 and n/2 of its sorted column, where n is its
// number of kept observations. The largest value sorts after every real value,
// so the first n entries of a column are exactly the kept ones. Scratch memory
// is sized once per call and bounded by the number of scenes in the period.
#pragma once

#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

namespace cropmap {

// Comparators of a Batcher odd-even merge sorting network for n inputs
// (n is rounded up to a power of two; pairs index the padded inputs).
std::vector<std::pair<int, int>> sortingNetwork(int n);

class MedianScratch {
 public:
  // Rows of `lanes` pixels sorted together; a multiple of the vector width.
  static constexpr std::size_t kLanes = 256;
  std::vector<std::uint16_t> rows;
  std::vector<std::pair<int, int>> network;
  int networkInputs = -1;
};

// The median of values[0..n) (n >= 1), rounded half up for an even n.
// A sorting network for n <= 16, nth_element beyond. Reorders values.
std::uint16_t medianOf(std::uint16_t* values, int n);

// Counts are stored as uint8: a period holds at most this many scenes.
constexpr int kMaxScenesPerPeriod = 255;

// The observations of one period of one block.
struct PeriodObservations {
  const std::uint16_t* values = nullptr;  // [scenes][bands][pixels]
  const std::uint8_t* keep = nullptr;     // [scenes][pixels]: 1 = clear (kept), 0 = masked
  int scenes = 0, bands = 0;
  std::size_t pixels = 0;
};

// Where the composite of the period goes.
struct PeriodComposite {
  std::uint16_t* median = nullptr;  // [bands][pixels]
  std::uint8_t* count = nullptr;    // [pixels]: kept observations
  std::uint16_t fill = 0;           // written where a pixel has none
};

// median[b][p] = median over s with keep[s][p] of values[s][b][p]; count[p] =
// number of kept observations; pixels with none get `fill`.
void periodMedian(const PeriodObservations& in, const PeriodComposite& out, MedianScratch& scratch);

}  // namespace cropmap
