// The scheduler's MPI driver: static and dynamic sources hand out every unit
// exactly once across the ranks, and the load report gathers every rank.
#include <gtest/gtest.h>
#include <mpi.h>
#include <unistd.h>

#include <numeric>

#include "scheduler/mpi_scheduler.hpp"

using namespace cropmap;

namespace {

// Counts per unit index, summed over ranks.
std::vector<int> takeAll(const std::string& mode, const std::vector<WorkUnit>& units, size_t indices) {
  int rank = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  std::vector<int> taken(indices, 0);
  {
    auto src = makeUnitSource(mode, units, MPI_COMM_WORLD);
    while (auto u = src->next()) {
      taken[static_cast<size_t>(u->index)] += 1;
    }
  }
  std::vector<int> total(indices, 0);
  MPI_Allreduce(taken.data(), total.data(), static_cast<int>(taken.size()), MPI_INT, MPI_SUM, MPI_COMM_WORLD);
  return total;
}

}  // namespace

TEST(MpiScheduler, EveryUnitExactlyOnce) {
  auto units = makeUnits({{300, 200, 2.0}, {128, 128, 5.0}}, 32);
  for (const char* mode : {"static", "dynamic"}) {
    auto total = takeAll(mode, units, units.size());
    for (size_t i = 0; i < total.size(); ++i) ASSERT_EQ(total[i], 1) << mode << " unit " << i;
  }
  // Resume: only pending units are handed out.
  std::vector<std::uint8_t> done(units.size(), 0);
  for (size_t i = 0; i < done.size(); i += 3) done[i] = 1;
  auto pending = pendingUnits(units, done);
  auto total = takeAll("dynamic", pending, units.size());
  for (size_t i = 0; i < units.size(); ++i) ASSERT_EQ(total[i], done[i] ? 0 : 1) << i;
}

TEST(MpiScheduler, DynamicModeRoutesAroundASlowRank) {
  int rank = 0, size = 1;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  auto units = makeUnits({{64, 64 * 40, 1.0}}, 64);  // 40 equal units
  std::int64_t mine = 0;
  {
    auto src = makeDynamicSource(units, MPI_COMM_WORLD);
    while (auto u = src->next()) {
      ++mine;
      usleep(rank == 0 ? 20000 : 1000);  // rank 0 is 20x slower
    }
  }
  auto report = gatherLoad(0.0, mine, MPI_COMM_WORLD);
  ASSERT_EQ(static_cast<int>(report.units.size()), size);
  EXPECT_EQ(std::accumulate(report.units.begin(), report.units.end(), std::int64_t{0}), 40);
  // The slow rank takes far fewer than its static share of 40/size.
  EXPECT_LT(report.units[0], 40 / size) << report.text();
}

TEST(MpiScheduler, LoadReportGathersEveryRank) {
  int rank = 0, size = 1;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  auto r = gatherLoad(1.0 + rank, rank * 10, MPI_COMM_WORLD);
  ASSERT_EQ(static_cast<int>(r.busy.size()), size);
  for (int i = 0; i < size; ++i) {
    EXPECT_DOUBLE_EQ(r.busy[static_cast<size_t>(i)], 1.0 + i);
    EXPECT_EQ(r.units[static_cast<size_t>(i)], i * 10);
    EXPECT_GT(r.peakRss[static_cast<size_t>(i)], 0) << "rank " << i;
    EXPECT_GE(r.writtenBytes[static_cast<size_t>(i)], 0) << "rank " << i;
  }
  EXPECT_DOUBLE_EQ(r.max(), static_cast<double>(size));
  EXPECT_NE(r.text().find("peak RSS"), std::string::npos) << r.text();
}
