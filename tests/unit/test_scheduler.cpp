// Scheduler logic without MPI: unit cutting, LPT assignment, resume filtering.
#include <gtest/gtest.h>

#include <algorithm>
#include <numeric>
#include <random>
#include <set>

#include "scheduler/work_units.hpp"

using namespace cropmap;

TEST(WorkUnits, BlocksCoverTilesExactlyWithCosts) {
  auto units = makeUnits({{100, 70, 3.0}, {64, 64, 10.0}}, 32);
  // tile 0: 4 x 3 blocks (last column 4 px wide, last row 6 px), tile 1: 2 x 2
  ASSERT_EQ(units.size(), 12u + 4u);
  std::int64_t covered0 = 0;
  for (const auto& u : units) {
    EXPECT_EQ(u.index, &u - units.data());
    if (u.tile == 0) covered0 += static_cast<std::int64_t>(u.rows) * u.cols;
    EXPECT_DOUBLE_EQ(u.cost, (u.tile == 0 ? 3.0 : 10.0) * u.rows * u.cols);
  }
  EXPECT_EQ(covered0, 100 * 70);
  EXPECT_EQ(units[3].cols, 4);
  EXPECT_EQ(units[11].rows, 6);
  EXPECT_EQ(units[12].tile, 1);
}

TEST(WorkUnits, LptAssignsEachUnitOnceAndBalances) {
  // Hand case: costs 7,6,5,4,3 on 2 ranks -> LPT gives {7,4,3}=14? no: 7->r0, 6->r1, 5->r1(11), 4->r0(11), 3->r0(14)... check
  std::vector<WorkUnit> units;
  for (double c : {5.0, 7.0, 3.0, 6.0, 4.0}) {
    WorkUnit u;
    u.index = static_cast<std::int64_t>(units.size());
    u.cost = c;
    units.push_back(u);
  }
  auto a = assignStatic(units, 2);
  auto load = [&](int r) {
    double s = 0;
    for (const auto& u : a[static_cast<size_t>(r)]) s += u.cost;
    return s;
  };
  // 7 -> r0; 6 -> r1; 5 -> r1 (11); 4 -> r0 (11); 3 -> r0 (14, tie to the lowest rank)
  EXPECT_DOUBLE_EQ(load(0), 14);
  EXPECT_DOUBLE_EQ(load(1), 11);
  // each rank's list is in index order
  for (const auto& list : a)
    EXPECT_TRUE(std::is_sorted(list.begin(), list.end(), [](auto& x, auto& y) { return x.index < y.index; }));

  // Random costs: every unit exactly once, and within LPT's 4/3 bound of the lower bound.
  std::mt19937 rng(3);
  std::vector<WorkUnit> many;
  for (int i = 0; i < 500; ++i) {
    WorkUnit u;
    u.index = i;
    u.cost = 1 + rng() % 1000;
    many.push_back(u);
  }
  for (int ranks : {1, 3, 7, 64}) {
    auto as = assignStatic(many, ranks);
    std::set<std::int64_t> seen;
    double maxLoad = 0, total = 0, biggest = 0;
    for (const auto& list : as) {
      double l = 0;
      for (const auto& u : list) {
        EXPECT_TRUE(seen.insert(u.index).second);
        l += u.cost;
      }
      maxLoad = std::max(maxLoad, l);
    }
    for (const auto& u : many) total += u.cost, biggest = std::max(biggest, u.cost);
    EXPECT_EQ(seen.size(), many.size());
    const double lower = std::max(total / ranks, biggest);
    EXPECT_LE(maxLoad, lower * 4.0 / 3.0 + 1e-9) << ranks;
  }
}

TEST(WorkUnits, ResumeSkipsDoneUnits) {
  auto units = makeUnits({{64, 64, 1.0}}, 16);  // 16 units
  std::vector<std::uint8_t> done(units.size(), 0);
  done[0] = done[5] = done[15] = 1;
  auto pending = pendingUnits(units, done);
  ASSERT_EQ(pending.size(), 13u);
  for (const auto& u : pending) EXPECT_FALSE(u.index == 0 || u.index == 5 || u.index == 15);
  EXPECT_EQ(pendingUnits(units, {}).size(), 16u);
}

TEST(WorkUnits, DynamicOrderLongestFirst) {
  auto units = makeUnits({{40, 40, 1.0}}, 32);  // costs 1024, 256, 256, 64
  auto order = dynamicOrder(units);
  EXPECT_EQ(order[0].index, 0);
  EXPECT_EQ(order[1].index, 1);  // ties keep index order
  EXPECT_EQ(order[2].index, 2);
  EXPECT_EQ(order[3].index, 3);
}

TEST(LoadReport, MaxMeanImbalance) {
  LoadReport r;
  r.busy = {2.0, 4.0, 3.0, 3.0};
  r.units = {1, 2, 3, 4};
  EXPECT_DOUBLE_EQ(r.max(), 4.0);
  EXPECT_DOUBLE_EQ(r.mean(), 3.0);
  EXPECT_NEAR(r.imbalance(), 4.0 / 3.0, 1e-12);
  EXPECT_NE(r.text().find("max/mean 1.333"), std::string::npos) << r.text();
  EXPECT_DOUBLE_EQ(LoadReport{}.imbalance(), 1.0);
}

TEST(WorkUnits, DecodeAmplification) {
  EXPECT_DOUBLE_EQ(decodeAmplification(10980, 1024, 1024), 1.0);  // aligned
  EXPECT_DOUBLE_EQ(decodeAmplification(10980, 2048, 1024), 1.0);  // multiples
  EXPECT_DOUBLE_EQ(decodeAmplification(4096, 512, 1024), 2.0);    // two blocks per tile
  EXPECT_DOUBLE_EQ(decodeAmplification(512, 128, 1024), 4.0);     // one file tile (the whole image), four blocks
  // 10980 = 10 x 1024 + 740: blocks of 1098 straddle tile edges; 11 tiles, 10 blocks, 20 pairs.
  EXPECT_NEAR(decodeAmplification(10980, 1098, 1024), 20.0 / 11.0, 1e-12);
  EXPECT_DOUBLE_EQ(decodeAmplification(0, 128, 256), 1.0);
}

// Advice is a block size the configuration accepts (a multiple of the chunk
// within [16, 10980]) that decodes each file tile once where one exists.
TEST(WorkUnits, BlockSizeAdviceIsAcceptedAndDecodesOnce) {
  auto ok = [](const BlockAdvice& a, int chunk) {
    return a.block >= 16 && a.block <= 10980 && a.block % chunk == 0;
  };
  // A full tile, 1024-px JP2 tiles, blocks of 512: 1024.
  BlockAdvice a = adviseBlockSize(10980, 10980, 1024, 1024, 64, 16, 10980, 512);
  EXPECT_EQ(a.block, 1024);
  EXPECT_DOUBLE_EQ(a.amplification, 1.0);
  // A clipped 353 x 353 product in one file tile: a block covering it (the old advice was 353 x 64 = 22592).
  a = adviseBlockSize(353, 353, 1024, 1024, 64, 16, 10980, 128);
  EXPECT_EQ(a.block, 384);
  EXPECT_DOUBLE_EQ(a.amplification, 1.0);
  EXPECT_TRUE(ok(a, 64));
  // 20 m tiles of 1024 cover 2048 px of the 10 m grid.
  a = adviseBlockSize(10980, 10980, 2048, 2048, 64, 16, 10980, 1000);
  EXPECT_EQ(a.block, 2048);
  // Chunks of 1000 allow no block that decodes 1024-px tiles once: the least decoding one, still accepted.
  a = adviseBlockSize(10980, 10980, 1024, 1024, 1000, 16, 10980, 1000);
  EXPECT_TRUE(ok(a, 1000));
  EXPECT_GT(a.amplification, 1.0);
  for (int b = 1000; b <= 10980; b += 1000)
    EXPECT_LE(a.amplification, decodeAmplification(10980, b, 1024) * decodeAmplification(10980, b, 1024) + 1e-12);
}
