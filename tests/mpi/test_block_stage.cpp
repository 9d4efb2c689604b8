// The typed collectives of Comm and the block-stage driver at 2 and 4 ranks:
// every unit runs exactly once under each assignment, a replay repeats a
// rank's units, resumed units are recounted once, problems are listed once on
// rank 0, and an error names the stage, tile and block.
#include <gtest/gtest.h>
#include <mpi.h>

#include <algorithm>
#include <numeric>
#include <set>

#include "pipeline/mpi.hpp"
#include "scheduler/block_stage.hpp"

using namespace cropmap;

TEST(Comm, TypedCollectives) {
  const Comm c(MPI_COMM_WORLD);
  const int r = c.rank(), n = c.size();
  EXPECT_EQ(c.bcast(r == 0 ? 42 : -1, "test"), 42);
  EXPECT_EQ(c.bcast(r == 0 ? std::string("from rank 0") : std::string("x"), "test"), "from rank 0");
  EXPECT_EQ(c.bcast(r == 0 ? std::vector<std::int64_t>{1, 2, 3} : std::vector<std::int64_t>{}, "test"),
            (std::vector<std::int64_t>{1, 2, 3}));
  EXPECT_EQ(c.sum(r + 1, "test"), n * (n + 1) / 2);
  EXPECT_DOUBLE_EQ(c.max(static_cast<double>(r), "test"), n - 1);
  EXPECT_EQ(c.min(r, "test"), 0);
  std::vector<std::int64_t> v{r, 1};
  c.sumInPlace(v, "test");
  EXPECT_EQ(v, (std::vector<std::int64_t>{n * (n - 1) / 2, n}));
  EXPECT_EQ(c.exclusivePrefixSum(std::int64_t{2}, "test"), 2 * r);
  const auto all = c.allgather(r * 10, "test");
  for (int i = 0; i < n; ++i) EXPECT_EQ(all[static_cast<size_t>(i)], i * 10);
  // Variable lengths: rank i gives i values i.
  const auto cat = c.allgatherv(std::vector<int>(static_cast<size_t>(r), r), "test");
  EXPECT_EQ(cat.size(), static_cast<size_t>(n * (n - 1) / 2));
  EXPECT_TRUE(std::is_sorted(cat.begin(), cat.end()));
  const auto onRoot = c.gatherv(std::vector<double>(static_cast<size_t>(r), 0.5), "test");
  EXPECT_EQ(onRoot.size(), r == 0 ? static_cast<size_t>(n * (n - 1) / 2) : 0u);
  const auto text = c.gatherText(std::string(static_cast<size_t>(r), 'a' + static_cast<char>(r)), "test");
  if (r == 0) {
    ASSERT_EQ(text.size(), static_cast<size_t>(n));
    for (int i = 0; i < n; ++i) EXPECT_EQ(text[static_cast<size_t>(i)], std::string(static_cast<size_t>(i), 'a' + i));
  } else {
    EXPECT_TRUE(text.empty());
  }
  EXPECT_EQ(c.allgatherv(std::string(1, 'a' + static_cast<char>(r)), "test").size(), static_cast<size_t>(n));
  // Exchange: rank r sends (r, d) to every rank d; every rank gets one record per source, in rank order.
  struct Rec {
    std::int32_t from, to;
  };
  std::vector<std::vector<Rec>> out(static_cast<size_t>(n));
  for (int d = 0; d < n; ++d) out[static_cast<size_t>(d)].push_back({r, d});
  std::vector<int> src;
  const auto in = c.exchange(out, "test", &src);
  ASSERT_EQ(in.size(), static_cast<size_t>(n));
  for (int i = 0; i < n; ++i) {
    EXPECT_EQ(in[static_cast<size_t>(i)].from, i);
    EXPECT_EQ(in[static_cast<size_t>(i)].to, r);
    EXPECT_EQ(src[static_cast<size_t>(i)], i);
  }
}

namespace {

// A stage whose units are the blocks of two small tiles; it records what it did.
class Recorder : public BlockStage {
 public:
  Recorder(Assignment a, std::vector<std::uint8_t> done = {}, std::vector<WorkUnit> replay = {})
      : BlockStage("recorder"), assignment_(a), done_(std::move(done)), replay_(std::move(replay)) {}

  UnitPlan prepare(const Comm&) override {
    std::vector<TileGrid> tiles(2);
    tiles[0].name = "T0";
    tiles[0].width = tiles[0].height = 96;
    tiles[1].name = "T1";
    tiles[1].width = 64;
    tiles[1].height = 40;
    UnitPlan p;
    p.units = makeUnits(tiles, 32);
    p.done = done_;
    p.assignment = assignment_;
    p.replay = replay_;
    p.tiles = {"T0", "T1"};
    p.blockEdge = 32;
    return p;
  }
  void process(const WorkUnit& u) override {
    processed.push_back(u.index);
    if (u.index == failAt) throw std::runtime_error("cannot read the block");
    if (u.index == 3) problem("a scene was left out");
  }
  void commit(const WorkUnit& u) override { committed.push_back(u.index); }
  void recount(const WorkUnit& u) override { recounted.push_back(u.index); }
  void finish(const Comm&, const PassResult&) override { finished = true; }

  std::vector<std::int64_t> processed, committed, recounted;
  bool finished = false;
  std::int64_t failAt = -1;

 private:
  Assignment assignment_;
  std::vector<std::uint8_t> done_;
  std::vector<WorkUnit> replay_;
};

std::vector<std::int64_t> everyone(const Comm& c, const std::vector<std::int64_t>& mine) {
  auto all = c.allgatherv(mine, "test");
  std::sort(all.begin(), all.end());
  return all;
}

}  // namespace

TEST(BlockStage, EveryUnitOnceUnderEveryAssignment) {
  const Comm c(MPI_COMM_WORLD);
  const int total = 9 + 2 * 2;  // 3x3 blocks of T0, 2x2 of T1
  std::vector<std::int64_t> expected(total);
  std::iota(expected.begin(), expected.end(), 0);
  for (Assignment a : {Assignment::lpt, Assignment::dynamic, Assignment::contiguous}) {
    Recorder s(a);
    const PassResult r = runBlockStage(s, c);
    EXPECT_TRUE(s.finished);
    EXPECT_EQ(s.processed, s.committed);
    EXPECT_EQ(everyone(c, s.processed), expected);
    EXPECT_EQ(r.processed, total);
    EXPECT_EQ(r.mine.size(), s.processed.size());
    EXPECT_EQ(r.load.busy.size(), static_cast<size_t>(c.size()));
    // The problem of unit 3 is listed once, on rank 0, with its stage and block.
    if (c.root()) {
      ASSERT_EQ(r.problems.size(), 1u);
      EXPECT_EQ(r.problems[0], "recorder tile T0 block (1,0): a scene was left out");
    } else {
      EXPECT_TRUE(r.problems.empty());
    }
    if (a == Assignment::contiguous) {  // rank order is unit order
      const auto first = c.allgather(s.processed.empty() ? std::int64_t{-1} : s.processed.front(), "test");
      std::int64_t last = -1;
      for (auto f : first)
        if (f >= 0) {
          EXPECT_GT(f, last);
          last = f;
        }
    }
    // A second pass replays exactly this rank's units, in the same order.
    Recorder again(Assignment::replay, {}, r.mine);
    runBlockStage(again, c);
    EXPECT_EQ(again.processed, s.processed);
  }
}

TEST(BlockStage, ResumeSkipsDoneUnitsAndRecountsThemOnce) {
  const Comm c(MPI_COMM_WORLD);
  std::vector<std::uint8_t> done(13, 0);
  for (int i : {0, 4, 5, 12}) done[static_cast<size_t>(i)] = 1;
  Recorder s(Assignment::dynamic, done);
  const PassResult r = runBlockStage(s, c);
  EXPECT_EQ(everyone(c, s.recounted), (std::vector<std::int64_t>{0, 4, 5, 12}));
  const auto processed = everyone(c, s.processed);
  EXPECT_EQ(processed.size(), 9u);
  for (auto i : processed) EXPECT_EQ(done[static_cast<size_t>(i)], 0);
  EXPECT_EQ(r.resumed, 4);
  EXPECT_EQ(r.processed, 9);
}

TEST(BlockStage, AnErrorNamesTheStageTileAndBlock) {
  // One process on its own (the others would wait in the driver's collectives
  // for a rank that has thrown; in a job, the CLI then aborts them all).
  if (worldRank() != 0) return;
  Recorder single(Assignment::replay, {}, {WorkUnit{10, 1, 0, 32, 32, 32, 0}});
  single.failAt = 10;
  try {
    runBlockStage(single, Comm(MPI_COMM_SELF));
    FAIL() << "expected an error";
  } catch (const std::runtime_error& e) {
    EXPECT_EQ(std::string(e.what()), "recorder tile T1 block (0,1): cannot read the block");
  }
}
