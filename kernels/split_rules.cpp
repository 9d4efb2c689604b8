#include "split_rules.hpp"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <map>

#include "sampling.hpp"

namespace cropmap::kernels {

const char* splitName(int code) {
  switch (code) {
    case kSplitTrain: return "train";
    case kSplitVal: return "val";
    case kSplitTest: return "test";
    default: return "none";
  }
}

std::int64_t winningZone(std::vector<std::pair<std::int64_t, std::int64_t>> counts) {
  std::sort(counts.begin(), counts.end());
  std::int64_t best = -1, bestCount = 0;
  for (size_t i = 0; i < counts.size();) {
    const std::int64_t zone = counts[i].first;
    std::int64_t total = 0;
    for (; i < counts.size() && counts[i].first == zone; ++i) total += counts[i].second;
    if (total > bestCount) {  // strictly greater: ties keep the lower zone seen first
      best = zone;
      bestCount = total;
    }
  }
  return best;
}

namespace {

// Zones of each region (by index), each region's list ordered by hash.
std::map<std::int64_t, std::vector<std::size_t>> byRegionHashed(const std::vector<ZoneKey>& zones,
                                                                 std::uint64_t seed) {
  std::map<std::int64_t, std::vector<std::size_t>> regions;
  for (std::size_t i = 0; i < zones.size(); ++i) regions[zones[i].region].push_back(i);
  for (auto& [region, list] : regions) {
    std::sort(list.begin(), list.end(), [&](std::size_t a, std::size_t b) {
      const auto ha = mixHash(seed, 0x5b117, static_cast<std::uint64_t>(zones[a].region),
                              static_cast<std::uint64_t>(zones[a].zone));
      const auto hb = mixHash(seed, 0x5b117, static_cast<std::uint64_t>(zones[b].region),
                              static_cast<std::uint64_t>(zones[b].zone));
      return ha != hb ? ha < hb : zones[a] < zones[b];
    });
  }
  return regions;
}

void dealFolds(const std::map<std::int64_t, std::vector<std::size_t>>& regions, ZoneSplits& out, int folds) {
  if (folds <= 0) return;
  // Training and validation zones are dealt separately, so that every fold
  // keeps validation zones for early stopping when it is the one held out.
  for (const std::uint8_t split : {kSplitTrain, kSplitVal}) {
    int next = 0;
    for (const auto& [region, list] : regions)
      for (auto i : list)
        if (out.split[i] == split) out.fold[i] = next++ % folds;
  }
}

}  // namespace

ZoneSplits regionHoldout(const std::vector<ZoneKey>& zones, std::uint64_t seed, int holdout, double valFraction,
                         int folds) {
  assert(holdout >= 0 && valFraction >= 0 && valFraction < 1);
  ZoneSplits out{std::vector<std::uint8_t>(zones.size(), kSplitTrain), std::vector<std::int32_t>(zones.size(), -1)};
  const auto regions = byRegionHashed(zones, seed);
  std::size_t totalVal = 0;
  const std::vector<std::size_t>* widest = nullptr;  // the region with the most training zones
  std::size_t widestTrain = 0;
  for (const auto& [region, list] : regions) {
    const std::size_t n = list.size();
    const std::size_t nTest = std::min<std::size_t>(n, static_cast<std::size_t>(holdout));
    const auto nVal = static_cast<std::size_t>(std::llround(valFraction * static_cast<double>(n - nTest)));
    for (std::size_t j = 0; j < n; ++j)
      out.split[list[j]] = j < nTest ? kSplitTest : j < nTest + nVal ? kSplitVal : kSplitTrain;
    totalVal += nVal;
    if (n - nTest - nVal > widestTrain) {
      widestTrain = n - nTest - nVal;
      widest = &list;
    }
  }
  // Rounding per region can leave no validation zone at all in a small layout;
  // training needs one, so the region with the most training zones gives its last.
  if (valFraction > 0 && totalVal == 0 && widest && widestTrain >= 2) out.split[widest->back()] = kSplitVal;
  dealFolds(regions, out, folds);
  return out;
}

ZoneSplits randomPatches(const std::vector<ZoneKey>& zones, std::uint64_t seed, const std::vector<double>& ratios,
                         int folds) {
  assert(ratios.size() == 3);
  ZoneSplits out{std::vector<std::uint8_t>(zones.size(), kSplitTrain), std::vector<std::int32_t>(zones.size(), -1)};
  const auto regions = byRegionHashed(zones, seed);
  for (const auto& [region, list] : regions) {
    const double n = static_cast<double>(list.size());
    const auto nTrain = static_cast<std::size_t>(std::llround(ratios[0] * n));
    const auto nVal = static_cast<std::size_t>(std::llround(ratios[1] * n));
    for (std::size_t j = 0; j < list.size(); ++j)
      out.split[list[j]] = j < nTrain ? kSplitTrain : j < nTrain + nVal ? kSplitVal : kSplitTest;
  }
  dealFolds(regions, out, folds);
  return out;
}

}  // namespace cropmap::kernels
