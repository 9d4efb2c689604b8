// Kernels of labels/split/sample: erosion, distance transform, the stratified
// sampling formula and the split rules, against hand-worked cases and
// brute-force references.
#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <random>
#include <string>

#include "kernels/distance.hpp"
#include "kernels/erosion.hpp"
#include "kernels/sampling.hpp"
#include "kernels/split_rules.hpp"

using namespace cropmap::kernels;

namespace {
// Parse a hand-drawn raster: '.' = 0, digits/letters = parcel ids.
std::vector<std::int64_t> drawn(const std::vector<std::string>& rows) {
  std::vector<std::int64_t> v;
  for (const auto& r : rows)
    for (char c : r) v.push_back(c == '.' ? 0 : static_cast<std::int64_t>(c));
  return v;
}
std::vector<std::string> undrawn(const std::vector<std::int64_t>& v, int rows, int cols) {
  std::vector<std::string> out;
  for (int y = 0; y < rows; ++y) {
    std::string s;
    for (int x = 0; x < cols; ++x) s += v[y * cols + x] ? static_cast<char>(v[y * cols + x]) : '.';
    out.push_back(s);
  }
  return out;
}
std::vector<std::string> eroded(const std::vector<std::string>& in, int r) {
  auto v = drawn(in);
  const int rows = static_cast<int>(in.size()), cols = static_cast<int>(in[0].size());
  applyErosion(v.data(), rows, cols, r);
  return undrawn(v, rows, cols);
}
}  // namespace

TEST(Erosion, SquareLosesItsRing) {
  EXPECT_EQ(eroded({".......",
                    ".aaaaa.",
                    ".aaaaa.",
                    ".aaaaa.",
                    ".aaaaa.",
                    ".aaaaa.",
                    "......."}, 1),
            (std::vector<std::string>{".......",
                                      ".......",
                                      "..aaa..",
                                      "..aaa..",
                                      "..aaa..",
                                      ".......",
                                      "......."}));
}

TEST(Erosion, OnePixelWideParcelsVanish) {
  EXPECT_EQ(eroded({"........",
                    ".aaaaaa.",
                    "........",
                    "..b.....",
                    "..b..c..",
                    "..b....."}, 1),
            (std::vector<std::string>(6, "........")));
  // With r = 0 nothing changes.
  const std::vector<std::string> thin{"aaa", "...", "b.c"};
  EXPECT_EQ(eroded(thin, 0), thin);
}

TEST(Erosion, NeighbouringParcelsBothLoseTheSharedBorder) {
  EXPECT_EQ(eroded({"..........",
                    ".aaaabbbb.",
                    ".aaaabbbb.",
                    ".aaaabbbb.",
                    ".aaaabbbb.",
                    ".aaaabbbb.",
                    ".........."}, 1),
            (std::vector<std::string>{"..........",
                                      "..........",
                                      "..aa..bb..",
                                      "..aa..bb..",
                                      "..aa..bb..",
                                      "..........",
                                      ".........."}));
}

TEST(Erosion, DiagonalContactCounts) {
  // The square element: a pixel touching another parcel only diagonally goes too.
  EXPECT_EQ(eroded({".....", ".aaa.", ".aaa.", ".aab.", "....."}, 1), (std::vector<std::string>(5, ".....")));
  EXPECT_EQ(eroded({".....", ".aaa.", ".aaa.", ".aaa.", "....."}, 1),
            (std::vector<std::string>{".....", ".....", "..a..", ".....", "....."}));
}

TEST(Erosion, LShapeKeepsItsCoreAndTwoPixelsErodeDeeper) {
  const std::vector<std::string> l{"...........",
                                   ".aaaaa.....",
                                   ".aaaaa.....",
                                   ".aaaaa.....",
                                   ".aaaaaaaaa.",
                                   ".aaaaaaaaa.",
                                   ".aaaaaaaaa.",
                                   "..........."};
  EXPECT_EQ(eroded(l, 1), (std::vector<std::string>{"...........",
                                                    "...........",
                                                    "..aaa......",
                                                    "..aaa......",
                                                    "..aaa......",
                                                    "..aaaaaaa..",
                                                    "...........",
                                                    "..........."}));
  EXPECT_EQ(eroded(l, 2), (std::vector<std::string>{"...........",
                                                    "...........",
                                                    "...........",
                                                    "...a.......",
                                                    "...a.......",
                                                    "...........",
                                                    "...........",
                                                    "..........."}));
}

TEST(Erosion, RasterEdgeIsJudgedOnTheInsideOnly) {
  // Callers pass a halo; at the raster edge only the inside part of the square counts.
  EXPECT_EQ(eroded({"aaa", "aaa"}, 1), (std::vector<std::string>{"aaa", "aaa"}));
}

TEST(Erosion, MatchesBruteForceOnRandomRasters) {
  std::mt19937 rng(3);
  for (int trial = 0; trial < 40; ++trial) {
    const int rows = 5 + static_cast<int>(rng() % 20), cols = 5 + static_cast<int>(rng() % 20);
    const int r = static_cast<int>(rng() % 4);
    // Blocky random parcels so that something survives.
    std::vector<std::int64_t> ids(static_cast<size_t>(rows * cols));
    const int cell = 2 + static_cast<int>(rng() % 5);
    std::map<std::pair<int, int>, std::int64_t> ofCell;
    for (int y = 0; y < rows; ++y)
      for (int x = 0; x < cols; ++x) {
        auto key = std::make_pair(y / cell, x / cell);
        if (!ofCell.count(key)) ofCell[key] = static_cast<std::int64_t>(rng() % 4);
        ids[y * cols + x] = ofCell[key];
      }
    const auto keep = erodeParcels(ids.data(), rows, cols, r);
    for (int y = 0; y < rows; ++y)
      for (int x = 0; x < cols; ++x) {
        bool ok = ids[y * cols + x] != 0;
        for (int dy = -r; dy <= r && ok; ++dy)
          for (int dx = -r; dx <= r && ok; ++dx) {
            const int yy = y + dy, xx = x + dx;
            if (yy < 0 || xx < 0 || yy >= rows || xx >= cols) continue;
            ok = ids[yy * cols + xx] == ids[y * cols + x];
          }
        ASSERT_EQ(keep[y * cols + x], ok ? 1 : 0) << "trial " << trial << " at " << y << "," << x << " r " << r;
      }
  }
}

TEST(Distance, MatchesBruteForce) {
  std::mt19937 rng(11);
  for (int trial = 0; trial < 30; ++trial) {
    const int rows = 1 + static_cast<int>(rng() % 25), cols = 1 + static_cast<int>(rng() % 25);
    std::vector<std::uint8_t> mask(static_cast<size_t>(rows * cols));
    const unsigned density = 1 + rng() % 30;
    for (auto& m : mask) m = (rng() % 100) < density;
    const auto d = squaredDistanceTo(mask.data(), rows, cols);
    bool any = false;
    for (auto m : mask) any = any || m;
    for (int y = 0; y < rows; ++y)
      for (int x = 0; x < cols; ++x) {
        double best = 1e300;
        for (int yy = 0; yy < rows; ++yy)
          for (int xx = 0; xx < cols; ++xx)
            if (mask[yy * cols + xx]) best = std::min(best, double((y - yy) * (y - yy) + (x - xx) * (x - xx)));
        if (any)
          ASSERT_DOUBLE_EQ(d[y * cols + x], best) << "trial " << trial;
        else
          ASSERT_GT(d[y * cols + x], double(rows) * rows + double(cols) * cols);
      }
  }
}

TEST(Sampling, PercentileLikeNumpy) {
  // numpy.percentile([1, 2, 3, 4], 65) = 2.95; ([5], 65) = 5
  EXPECT_NEAR(percentile({4, 1, 3, 2}, 65), 2.95, 1e-12);
  EXPECT_DOUBLE_EQ(percentile({5}, 65), 5.0);
  EXPECT_DOUBLE_EQ(percentile({1, 2, 3}, 0), 1.0);
  EXPECT_DOUBLE_EQ(percentile({1, 2, 3}, 100), 3.0);
}

TEST(Sampling, FormulaWorkedByHand) {
  // n = 6000, 3000, 800, 150, 50 (sum 10000): priors .6 .3 .08 .015 .005.
  // q = 65th percentile of the priors = .08 + .6 * (.3 - .08) ... sorted
  // [.005, .015, .08, .3, .6], pos = .65 * 4 = 2.6 -> .08 + .6 * .22 = .212.
  // Frequent: .3 and .6 (damped with gamma = .5): w = .212 * sqrt(pi / .212).
  const std::vector<std::int64_t> n{6000, 3000, 800, 150, 50};
  const auto plan = stratifiedCounts(n, 2000, 100, 0.5, 65);
  EXPECT_NEAR(plan.threshold, 0.212, 1e-12);
  EXPECT_EQ(plan.rare, (std::vector<std::uint8_t>{0, 0, 1, 1, 1}));
  const double w0 = 0.212 * std::sqrt(0.6 / 0.212), w1 = 0.212 * std::sqrt(0.3 / 0.212);
  const double ws = w0 + w1 + 0.08 + 0.015 + 0.005;
  EXPECT_EQ(plan.target[0], static_cast<std::int64_t>(std::floor(2000 * w0 / ws)));
  EXPECT_EQ(plan.target[1], static_cast<std::int64_t>(std::floor(2000 * w1 / ws)));
  EXPECT_EQ(plan.target[2], static_cast<std::int64_t>(std::floor(2000 * 0.08 / ws)));
  EXPECT_EQ(plan.target[3], 100);  // the guaranteed minimum beats its share (~40)
  EXPECT_EQ(plan.target[4], 50);   // capped at what exists
  // Damping narrows the gap between the largest and the smallest frequent class.
  const auto undamped = stratifiedCounts(n, 2000, 0, 1.0, 65);
  EXPECT_GT(double(undamped.target[0]) / undamped.target[1], double(plan.target[0]) / plan.target[1]);
  EXPECT_EQ(undamped.target[0], 1200);  // gamma = 1 keeps the priors: floor(2000 * .6)
}

TEST(Sampling, ZeroBudgetTakesAllAndAbsentClassesGetNothing) {
  const auto plan = stratifiedCounts({10, 0, 5}, 0, 3, 0.5);
  EXPECT_EQ(plan.target, (std::vector<std::int64_t>{10, 0, 5}));
  const auto none = stratifiedCounts({0, 0}, 100, 3, 0.5);
  EXPECT_EQ(none.total(), 0);
}

TEST(Sampling, ClassWeights) {
  EXPECT_EQ(maxOverCountWeights({100, 25, 0, 50}), (std::vector<double>{1.0, 4.0, 0.0, 2.0}));
  const auto inv = inverseFrequencyWeights({100, 25, 0, 75});
  EXPECT_DOUBLE_EQ(inv[0], 200.0 / (3 * 100));
  EXPECT_DOUBLE_EQ(inv[1], 200.0 / (3 * 25));
  EXPECT_DOUBLE_EQ(inv[2], 0.0);
}

TEST(Sampling, CappedClassWeightsPerRule) {
  // 2374 rows of the largest class, one of the rarest: the register case.
  const std::vector<std::int64_t> counts{2374, 100, 0, 1};
  const auto mx = classWeights(counts, WeightRule::MaxOverCount, 20);
  EXPECT_EQ(mx.uncapped, (std::vector<double>{1.0, 23.74, 0.0, 2374.0}));
  EXPECT_EQ(mx.weight, (std::vector<double>{1.0, 20.0, 0.0, 20.0}));
  EXPECT_EQ(mx.capped, (std::vector<std::uint8_t>{0, 1, 0, 1}));
  const auto none = classWeights(counts, WeightRule::MaxOverCount, 0);  // 0: no cap
  EXPECT_EQ(none.weight, none.uncapped);
  EXPECT_EQ(none.capped, (std::vector<std::uint8_t>{0, 0, 0, 0}));
  const auto sq = classWeights(counts, WeightRule::Sqrt, 20);
  EXPECT_DOUBLE_EQ(sq.weight[1], std::sqrt(23.74));  // below the cap: kept
  EXPECT_DOUBLE_EQ(sq.uncapped[3], std::sqrt(2374.0));
  EXPECT_EQ(sq.weight[3], 20.0);
  EXPECT_EQ(sq.weight[2], 0.0);
  const auto inv = classWeights(counts, WeightRule::InverseFrequency, 50);
  EXPECT_DOUBLE_EQ(inv.weight[0], 2475.0 / (3 * 2374));
  EXPECT_DOUBLE_EQ(inv.weight[1], 2475.0 / (3 * 100));
  EXPECT_EQ(inv.weight[3], 50.0);  // 825 capped
  EXPECT_EQ(inv.capped, (std::vector<std::uint8_t>{0, 0, 0, 1}));
  EXPECT_EQ(parseWeightRule("sqrt"), WeightRule::Sqrt);
  EXPECT_THROW(parseWeightRule("inverse"), std::invalid_argument);
}

TEST(Sampling, HashDependsOnEveryKey) {
  const auto h = mixHash(42, 1, 2, 3);
  EXPECT_EQ(h, mixHash(42, 1, 2, 3));
  EXPECT_NE(h, mixHash(43, 1, 2, 3));
  EXPECT_NE(h, mixHash(42, 2, 1, 3));
  EXPECT_NE(h, mixHash(42, 1, 3, 2));
}

TEST(SplitRules, WinningZoneLargestShareTiesToLowerZone) {
  EXPECT_EQ(winningZone({{5, 10}, {2, 7}, {5, 1}}), 5);
  EXPECT_EQ(winningZone({{7, 4}, {3, 4}}), 3);
  EXPECT_EQ(winningZone({{7, 3}, {3, 2}, {7, 1}, {3, 2}}), 3);  // partial counts summed: 4 vs 4
  EXPECT_EQ(winningZone({}), -1);
  EXPECT_EQ(winningZone({{1, 0}}), -1);
}

TEST(SplitRules, RegionHoldoutPerRegion) {
  std::vector<ZoneKey> zones;
  for (int r = 0; r < 4; ++r)
    for (int z = 0; z < 5; ++z) zones.push_back({r, z});
  zones.push_back({9, 0});  // a region of one zone: held out whole
  const auto s = regionHoldout(zones, 42, 1, 0.25, 3);
  std::map<std::int64_t, std::map<int, int>> perRegion;
  for (size_t i = 0; i < zones.size(); ++i) perRegion[zones[i].region][s.split[i]]++;
  for (int r = 0; r < 4; ++r) {
    EXPECT_EQ(perRegion[r][kSplitTest], 1);
    EXPECT_EQ(perRegion[r][kSplitVal], 1);  // round(.25 * 4)
    EXPECT_EQ(perRegion[r][kSplitTrain], 3);
  }
  EXPECT_EQ(perRegion[9][kSplitTest], 1);
  // Every training and every validation zone has a fold, dealt so that each
  // fold gets training zones and validation zones; test zones have none.
  std::map<int, int> trainFolds, valFolds;
  for (size_t i = 0; i < zones.size(); ++i) {
    if (s.split[i] == kSplitTrain) {
      ASSERT_GE(s.fold[i], 0);
      trainFolds[s.fold[i]]++;
    } else if (s.split[i] == kSplitVal) {
      ASSERT_GE(s.fold[i], 0);
      valFolds[s.fold[i]]++;
    } else {
      EXPECT_EQ(s.fold[i], -1);
    }
  }
  EXPECT_EQ(trainFolds, (std::map<int, int>{{0, 4}, {1, 4}, {2, 4}}));
  EXPECT_EQ(valFolds, (std::map<int, int>{{0, 2}, {1, 1}, {2, 1}}));
  // Seeded: same seed same result, another seed another choice somewhere.
  EXPECT_EQ(regionHoldout(zones, 42, 1, 0.25, 3).split, s.split);
  bool differs = false;
  for (std::uint64_t seed = 1; seed < 10 && !differs; ++seed) differs = regionHoldout(zones, seed, 1, 0.25, 3).split != s.split;
  EXPECT_TRUE(differs);
}

TEST(SplitRules, RandomPatchesRatios) {
  std::vector<ZoneKey> zones;
  for (int t = 0; t < 2; ++t)
    for (int p = 0; p < 100; ++p) zones.push_back({t, p});
  const auto s = randomPatches(zones, 7, {0.6, 0.3, 0.1}, 0);
  for (int t = 0; t < 2; ++t) {
    std::map<int, int> c;
    for (int p = 0; p < 100; ++p) c[s.split[t * 100 + p]]++;
    EXPECT_EQ(c[kSplitTrain], 60);
    EXPECT_EQ(c[kSplitVal], 30);
    EXPECT_EQ(c[kSplitTest], 10);
  }
}

TEST(SplitRules, SmallLayoutStillGetsAValidationZone) {
  // Two regions of three zones: one test zone each, and 0.2 x 2 rounds to no
  // validation zone per region; the layout must still get one.
  std::vector<ZoneKey> zones;
  for (int r = 0; r < 2; ++r)
    for (int z = 0; z < 3; ++z) zones.push_back({r, z});
  const auto s = regionHoldout(zones, 7, 1, 0.2, 0);
  int test = 0, val = 0, train = 0;
  for (auto v : s.split) (v == kSplitTest ? test : v == kSplitVal ? val : train)++;
  EXPECT_EQ(test, 2);
  EXPECT_EQ(val, 1);
  EXPECT_EQ(train, 3);
  const auto none = regionHoldout(zones, 7, 1, 0.0, 0);
  for (auto v : none.split) EXPECT_NE(v, kSplitVal);
}
