// When each synthetic tile is imaged, by which satellite, on which orbit and
// with which processing baseline.
//
// Orbits follow Sentinel-2's geometry closely enough for the harmonisation
// problem to be real: 143 relative orbits in a 10-day cycle, tracks 2.52
// degrees of longitude apart whose swaths (290 km) overlap, neighbouring tracks
// 43 orbit numbers apart, S2A and S2B half a cycle apart (a 5-day revisit per
// orbit once S2B flies). A tile under two tracks is imaged from two orbits on
// different days; a tile near a swath edge is only partly covered by one of
// them. Baselines follow ESA's deployment dates (approximately), and a share of
// the older products comes reprocessed (Collection 1, baseline 05.00).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "mgrs.hpp"

namespace cropmap::synth {

// Civil dates as days since 1970-01-01 (proleptic Gregorian).
std::int64_t daysFromCivil(int y, int m, int d);
void civilFromDays(std::int64_t z, int& y, int& m, int& d);
int dayOfYear(std::int64_t day);
// "20220105T100319" and "2022-01-05T10:03:19.024Z"
std::string compactTime(std::int64_t day, int secondsOfDay);
std::string isoTime(std::int64_t day, int secondsOfDay, int millis);

struct OrbitPass {
  int relativeOrbit = 0;  // 1..143
  double trackLon = 0;    // longitude of the track centre at the tile's latitude
  double halfWidthDeg = 0;  // half the swath width in degrees of longitude there
  double coverage = 0;    // share of the synthetic area inside the swath
};

struct Acquisition {
  int tileIndex = 0;
  int orbitSlot = 0;  // index into the tile's OrbitPass list
  std::int64_t day = 0;
  int year = 0, month = 0, dayOfMonth = 0, doy = 0;
  int secondsOfDay = 0, millis = 0;  // datatake sensing start, UTC
  char satellite = 'A';
  int relativeOrbit = 0;
  int absoluteOrbit = 0;
  std::string baseline;   // "04.00"
  bool hasOffset = false;  // BOA_ADD_OFFSET = -1000 (baselines >= 04.00)
  bool legacyNames = false;  // PSD 14.2 products name band files L2A_T<tile>_...
  std::int64_t generationDay = 0;
  int generationSeconds = 0;
  std::string sensingCompact() const { return compactTime(day, secondsOfDay); }
  std::string dateCompact() const { return sensingCompact().substr(0, 8); }  // YYYYMMDD
};

// Orbits whose swath covers part of a synthetic area (lon/lat of its corners).
std::vector<OrbitPass> orbitsOver(double lonWest, double lonEast, double latCentre);

// Every acquisition of one tile in `year`, sorted by day then orbit.
std::vector<Acquisition> acquisitionsFor(int tileIndex, const std::string& tileId, const std::vector<OrbitPass>& orbits,
                                         int year, double latCentre, std::uint64_t seed, double reprocessedShare);

// `count` of the acquisitions, spread evenly over the list (the first kept is
// the one nearest the start of the first of `count` equal shares, and so on);
// all of them when count is 0 or not less than their number. A full tile takes
// about 1 GB of inputs per acquisition: this keeps a synthetic tile's archive
// to the size a machine holds.
std::vector<Acquisition> spreadAcquisitions(const std::vector<Acquisition>& all, int count);

// Baseline in force on a sensing day ("02.06" ... "05.10").
std::string baselineOn(std::int64_t day);

}  // namespace cropmap::synth
