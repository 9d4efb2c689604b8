// The period axis of the cube: the time steps every tile is composited onto
// (12 months, 24 half-months, 36 dekads from composite.start_month, or custom
// edges). All tiles share it, which is what lets one model serve a country
// whose tiles were imaged on different dates.
#pragma once

#include <string>
#include <vector>

#include "config/composite.hpp"

namespace cropmap {

struct PeriodAxis {
  std::vector<std::string> starts;  // ISO dates
  std::vector<std::string> ends;    // exclusive
  static PeriodAxis fromConfig(const CompositeSection& c);
  int size() const { return static_cast<int>(starts.size()); }
  // Index of the period holding an ISO date, or -1.
  int periodOf(const std::string& isoDate) const;
};

}  // namespace cropmap
