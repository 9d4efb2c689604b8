#include "period_axis.hpp"

#include <cstdio>

namespace cropmap {

namespace {

std::string isoDate(int y, int m, int d) {
  char buf[40];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02d", y, m, d);
  return buf;
}

}  // namespace

PeriodAxis PeriodAxis::fromConfig(const CompositeSection& c) {
  PeriodAxis a;
  if (c.period == "custom") {
    for (size_t i = 0; i + 1 < c.edges.size(); ++i) {
      a.starts.push_back(c.edges[i]);
      a.ends.push_back(c.edges[i + 1]);
    }
    return a;
  }
  // Periods start on these days of each month; each ends where the next begins.
  const std::vector<int> firstDays = c.period == "dekad"        ? std::vector<int>{1, 11, 21}
                                     : c.period == "half_month" ? std::vector<int>{1, 16}
                                                                : std::vector<int>{1};
  int y = c.year, m = c.start_month;
  for (int i = 0; i < 12; ++i) {
    for (int d : firstDays) {
      if (!a.starts.empty()) a.ends.push_back(isoDate(y, m, d));
      a.starts.push_back(isoDate(y, m, d));
    }
    if (++m > 12) {
      m = 1;
      ++y;
    }
  }
  a.ends.push_back(isoDate(y, m, 1));
  return a;
}

int PeriodAxis::periodOf(const std::string& date) const {
  for (size_t i = 0; i < starts.size(); ++i)
    if (date >= starts[i] && date < ends[i]) return static_cast<int>(i);
  return -1;
}

}  // namespace cropmap
