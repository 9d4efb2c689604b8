// Filling periods without a clear observation, per pixel and band.
//
// A pixel's series over the P periods has values where the period had at
// least one kept observation (count > 0). A run of missing periods between
// two available ones is filled by linear interpolation in the period index
// (or with the mean of the two neighbours, per configuration); missing periods
// before the first available value take that value, those after the last take
// the last one. A pixel with no observation in any period keeps the fill value
// everywhere and is counted, so the stage can report it.
#pragma once

#include <cstddef>
#include <cstdint>

namespace cropmap {

enum class GapMode { linear, neighbourMean };

// series: [periods][rowsPerPeriod][pixels] of which the first `bands` rows of
// each period are filled, in place (rowsPerPeriod 0 means bands); count:
// [periods][pixels]. Returns the number of pixels without any observation.
std::int64_t fillGaps(std::uint16_t* series, const std::uint8_t* count, int periods, int bands, std::size_t pixels,
                      GapMode mode, std::uint16_t fill, int rowsPerPeriod = 0);

// One series (stride between periods), for tests and the reference: fills
// values[p * stride] where available[p] is 0. Returns false when nothing
// is available.
bool fillSeries(std::uint16_t* values, std::size_t stride, const std::uint8_t* available, int periods, GapMode mode);

}  // namespace cropmap
