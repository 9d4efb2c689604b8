#include "work_units.hpp"

#include <algorithm>
#include <cstdio>
#include <numeric>
#include <queue>
#include <sstream>

namespace cropmap {

double decodeAmplification(int extent, int block, int fileTile) {
  if (extent <= 0 || block <= 0 || fileTile <= 0) return 1.0;
  fileTile = std::min(fileTile, extent);
  std::int64_t pairs = 0;
  for (int b0 = 0; b0 < extent; b0 += block) {
    const int b1 = std::min(extent, b0 + block);
    pairs += (b1 - 1) / fileTile - b0 / fileTile + 1;  // tiles overlapping [b0, b1)
  }
  const int tiles = (extent + fileTile - 1) / fileTile;
  return static_cast<double>(pairs) / tiles;
}

std::vector<WorkUnit> makeUnits(const std::vector<TileExtent>& tiles, int block) {
  std::vector<WorkUnit> units;
  for (size_t t = 0; t < tiles.size(); ++t) {
    const TileExtent& e = tiles[t];
    for (int r = 0; r < e.height; r += block)
      for (int c = 0; c < e.width; c += block) {
        WorkUnit u;
        u.index = static_cast<std::int64_t>(units.size());
        u.tile = static_cast<int>(t);
        u.row0 = r;
        u.col0 = c;
        u.rows = std::min(block, e.height - r);
        u.cols = std::min(block, e.width - c);
        u.cost = e.costPerPixel * u.rows * u.cols;
        units.push_back(u);
      }
  }
  return units;
}

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
    std::snprintf(buf, sizeof buf, "  rank %zu: busy %.2f s, %lld units\n", r, busy[r],
                  static_cast<long long>(r < units.size() ? units[r] : 0));
    os << buf;
  }
  std::snprintf(buf, sizeof buf, "  load balance: max %.2f s, mean %.2f s, max/mean %.3f", max(), mean(), imbalance());
  os << buf;
  return os.str();
}

}  // namespace cropmap
