#include "calendar.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "noise.hpp"

namespace cropmap::synth {

std::int64_t daysFromCivil(int y, int m, int d) {
  // Howard Hinnant's algorithm.
  y -= m <= 2;
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

void civilFromDays(std::int64_t z, int& y, int& m, int& d) {
  z += 719468;
  const std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const unsigned doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  d = static_cast<int>(doy - (153 * mp + 2) / 5 + 1);
  m = static_cast<int>(mp < 10 ? mp + 3 : mp - 9);
  y = static_cast<int>(yoe + era * 400 + (m <= 2));
}

int dayOfYear(std::int64_t day) {
  int y, m, d;
  civilFromDays(day, y, m, d);
  return static_cast<int>(day - daysFromCivil(y, 1, 1)) + 1;
}

std::string compactTime(std::int64_t day, int s) {
  int y, m, d;
  civilFromDays(day, y, m, d);
  char buf[32];
  std::snprintf(buf, sizeof buf, "%04d%02d%02dT%02d%02d%02d", y, m, d, s / 3600, (s / 60) % 60, s % 60);
  return buf;
}

std::string isoTime(std::int64_t day, int s, int millis) {
  int y, m, d;
  civilFromDays(day, y, m, d);
  char buf[40];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", y, m, d, s / 3600, (s / 60) % 60, s % 60,
                millis);
  return buf;
}

namespace {
constexpr double kTrackSpacing = 360.0 / 143.0;  // degrees of longitude between adjacent tracks
constexpr double kTrackOrigin = 0.85;            // longitude of the track of relative orbit kOriginOrbit
constexpr int kOriginOrbit = 51;
constexpr double kSwathHalfKm = 145.0;

int orbitOfTrack(long k) {
  // The track one spacing east of orbit r belongs to orbit r + 43 (mod 143).
  long r = (kOriginOrbit - 1 + 43 * k) % 143;
  if (r < 0) r += 143;
  return static_cast<int>(r) + 1;
}
}  // namespace

std::vector<OrbitPass> orbitsOver(double lonWest, double lonEast, double latCentre) {
  std::vector<OrbitPass> out;
  const double half = kSwathHalfKm / (111.32 * std::cos(latCentre * M_PI / 180.0));
  const long k0 = static_cast<long>(std::floor((lonWest - half - kTrackOrigin) / kTrackSpacing));
  const long k1 = static_cast<long>(std::ceil((lonEast + half - kTrackOrigin) / kTrackSpacing));
  for (long k = k0; k <= k1; ++k) {
    const double lon = kTrackOrigin + k * kTrackSpacing;
    const double lo = std::max(lonWest, lon - half), hi = std::min(lonEast, lon + half);
    const double cover = hi > lo ? (hi - lo) / std::max(1e-9, lonEast - lonWest) : 0.0;
    if (cover < 0.02) continue;  // a sliver of swath: ESA would not distribute this tile for the orbit
    out.push_back(OrbitPass{orbitOfTrack(k), lon, half, std::min(1.0, cover)});
  }
  return out;
}

std::string baselineOn(std::int64_t day) {
  struct Step {
    int y, m, d;
    const char* baseline;
  };
  // Start dates of the L2A processing baselines as ESA deployed them (approximately).
  static const Step steps[] = {{2018, 5, 23, "02.07"}, {2018, 11, 6, "02.09"}, {2019, 7, 8, "02.13"},
                               {2020, 1, 28, "02.14"}, {2021, 3, 30, "03.00"}, {2021, 6, 30, "03.01"},
                               {2022, 1, 25, "04.00"}, {2022, 12, 6, "05.09"}, {2024, 2, 6, "05.10"}};
  const char* b = "02.06";
  for (const auto& s : steps)
    if (day >= daysFromCivil(s.y, s.m, s.d)) b = s.baseline;
  return b;
}

std::vector<Acquisition> acquisitionsFor(int tileIndex, const std::string& tileId, const std::vector<OrbitPass>& orbits,
                                         int year, double latCentre, std::uint64_t seed, double reprocessedShare) {
  std::vector<Acquisition> out;
  const std::int64_t first = daysFromCivil(year, 1, 1), last = daysFromCivil(year, 12, 31);
  const std::int64_t s2aStart = daysFromCivil(2015, 7, 4);  // first operational acquisitions
  const std::int64_t s2bStart = daysFromCivil(2017, 7, 6);
  const std::int64_t offsetDeployed = daysFromCivil(2022, 1, 25);
  for (size_t slot = 0; slot < orbits.size(); ++slot) {
    const OrbitPass& o = orbits[slot];
    // Day of the 10-day cycle on which S2A flies this orbit; S2B flies it 5 days later.
    const int phase = ((o.relativeOrbit - 1) * 10) / 143;
    // Local solar time about 10:45 at mid latitudes, later towards the equator.
    const double utcHours = 10.75 - o.trackLon / 15.0 + (45.0 - latCentre) * 0.004;
    for (std::int64_t day = first; day <= last; ++day) {
      const std::int64_t rel = ((day - phase) % 10 + 10) % 10;
      if (rel != 0 && rel != 5) continue;
      const char sat = rel == 0 ? 'A' : 'B';
      if (day < s2aStart || (sat == 'B' && day < s2bStart)) continue;
      Acquisition a;
      a.tileIndex = tileIndex;
      a.orbitSlot = static_cast<int>(slot);
      a.day = day;
      civilFromDays(day, a.year, a.month, a.dayOfMonth);
      a.doy = dayOfYear(day);
      const std::uint64_t h = hashKeys({seed, keyOf("acq"), static_cast<std::uint64_t>(day),
                                        static_cast<std::uint64_t>(o.relativeOrbit)});
      Rng rng(h);
      a.secondsOfDay = static_cast<int>(utcHours * 3600.0) + static_cast<int>(rng.uniform(-20, 20));
      a.millis = rng.below(1000);
      a.satellite = sat;
      a.relativeOrbit = o.relativeOrbit;
      const std::int64_t cycles = (day - s2aStart) / 10;
      a.absoluteOrbit = static_cast<int>(cycles * 143 + o.relativeOrbit + (sat == 'A' ? 250 : -8700));
      a.baseline = baselineOn(day);
      // Collection-1 reprocessing: a share of the pre-2022 archive comes as 05.00.
      const std::uint64_t hr = hashKeys({seed, keyOf("reprocessed"), keyOf(tileId.c_str()),
                                         static_cast<std::uint64_t>(day), static_cast<std::uint64_t>(o.relativeOrbit)});
      const bool reprocessed = day < offsetDeployed && unitFrom(hr) < reprocessedShare;
      if (reprocessed) a.baseline = "05.00";
      a.hasOffset = a.baseline >= "04.00";
      a.legacyNames = a.baseline == "02.06";
      if (reprocessed) {
        a.generationDay = daysFromCivil(2023, 3, 1) + rng.below(300);
        a.generationSeconds = rng.below(86400);
      } else {
        const int delay = a.secondsOfDay + 2 * 3600 + rng.below(5 * 3600);
        a.generationDay = day + delay / 86400;
        a.generationSeconds = delay % 86400;
      }
      out.push_back(a);
    }
  }
  std::sort(out.begin(), out.end(), [](const Acquisition& a, const Acquisition& b) {
    return a.day != b.day ? a.day < b.day : a.relativeOrbit < b.relativeOrbit;
  });
  return out;
}

std::vector<Acquisition> spreadAcquisitions(const std::vector<Acquisition>& all, int count) {
  const size_t n = all.size();
  if (count <= 0 || static_cast<size_t>(count) >= n) return all;
  std::vector<Acquisition> out;
  out.reserve(static_cast<size_t>(count));
  // The middle of each of `count` equal shares of the list: strictly increasing indices.
  for (size_t i = 0; i < static_cast<size_t>(count); ++i) out.push_back(all[(2 * i + 1) * n / (2 * static_cast<size_t>(count))]);
  return out;
}

}  // namespace cropmap::synth
