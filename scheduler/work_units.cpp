#include "work_units.hpp"

#include <algorithm>
#include <cstdio>
#include <numeric>
#include <queue>
#include <sstream>

#include "pipeline/memory.hpp"

namespace cropmap {

std::vector<WorkUnit> pendingUnits(const std::vector<WorkUnit>& units, const std::vector<std::uint8_t>& done) {
  std::vector<WorkUnit> out;
  for (const auto& u : units) {
    const auto i = static_cast<size_t>(u.index);
    if (i < done.size() && done[i]) continue;
    out.push_back(u);
  }
  return out;
}

std::vector<WorkUnit> dynamicOrder(const std::vector<WorkUnit>& units) {
  std::vector<WorkUnit> order = units;
  std::stable_sort(order.begin(), order.end(), [](const WorkUnit& a, const WorkUnit& b) {
    return a.cost != b.cost ? a.cost > b.cost : a.index < b.index;
  });
  return order;
}

std::vector<std::vector<WorkUnit>> assignStatic(const std::vector<WorkUnit>& units, int ranks) {
  std::vector<std::vector<WorkUnit>> out(static_cast<size_t>(std::max(ranks, 1)));
  // (load, rank): the least-loaded rank on top, ties to the lowest rank, so
  // every rank computes the same assignment.
  using Slot = std::pair<double, int>;
  std::priority_queue<Slot, std::vector<Slot>, std::greater<Slot>> heap;
  for (int r = 0; r < static_cast<int>(out.size()); ++r) heap.push({0.0, r});
  for (const auto& u : dynamicOrder(units)) {
    auto [load, r] = heap.top();
    heap.pop();
    out[static_cast<size_t>(r)].push_back(u);
    heap.push({load + u.cost, r});
  }
  for (auto& list : out)
    std::sort(list.begin(), list.end(), [](const WorkUnit& a, const WorkUnit& b) { return a.index < b.index; });
  return out;
}

double LoadReport::max() const { return busy.empty() ? 0.0 : *std::max_element(busy.begin(), busy.end()); }
double LoadReport::mean() const {
  return busy.empty() ? 0.0 : std::accumulate(busy.begin(), busy.end(), 0.0) / static_cast<double>(busy.size());
}
double LoadReport::imbalance() const {
  const double m = mean();
  return m > 0 ? max() / m : 1.0;
}

std::string LoadReport::text() const {
  std::ostringstream os;
  char buf[160];
  for (size_t r = 0; r < busy.size(); ++r) {
    std::snprintf(buf, sizeof buf, "  rank %zu: busy %.2f s, %lld units", r, busy[r],
                  static_cast<long long>(r < units.size() ? units[r] : 0));
    os << buf;
    if (r < peakRss.size())
      os << ", peak RSS " << formatBytes(static_cast<double>(peakRss[r])) << ", read "
         << formatBytes(static_cast<double>(readBytes[r])) << ", written "
         << formatBytes(static_cast<double>(writtenBytes[r]));
    os << "\n";
  }
  std::snprintf(buf, sizeof buf, "  load balance: max %.2f s, mean %.2f s, max/mean %.3f", max(), mean(), imbalance());
  os << buf;
  return os.str();
}

}  // namespace cropmap
