// samples.h5 through parallel HDF5: epoch shards, hyperslab reads, scaling, errors.
#include <gtest/gtest.h>
#include <mpi.h>

#include <algorithm>
#include <cmath>
#include <set>

#include "pipeline/mpi.hpp"
#include "kernels/shards.hpp"
#include "pipeline/samples.hpp"
#include "tests/support/sample_fixture.hpp"
#include "tests/support/test_support.hpp"

using namespace cropmap;

namespace {

// Rank 0 makes the directory and the file; the others wait for it.
std::string sharedFile(const std::string& dir, const std::string& name, const test::SyntheticSamples& spec) {
  const std::string d = std::string(CROPMAP_TEST_TMP) + "/" + dir + "_np" + std::to_string(worldSize());
  const std::string path = d + "/" + name;
  if (worldRank() == 0) {
    test::scratchDir(dir + "_np" + std::to_string(worldSize()));
    test::writeSyntheticSamples(path, spec);
  }
  MPI_Barrier(MPI_COMM_WORLD);
  return path;
}

std::vector<std::int64_t> allgather(const std::vector<std::int64_t>& mine) {
  const int size = worldSize();
  int n = static_cast<int>(mine.size());
  std::vector<int> counts(static_cast<size_t>(size)), displs(static_cast<size_t>(size));
  MPI_Allgather(&n, 1, MPI_INT, counts.data(), 1, MPI_INT, MPI_COMM_WORLD);
  int total = 0;
  for (int r = 0; r < size; ++r) {
    displs[static_cast<size_t>(r)] = total;
    total += counts[static_cast<size_t>(r)];
  }
  std::vector<std::int64_t> all(static_cast<size_t>(total));
  MPI_Allgatherv(mine.data(), n, MPI_INT64_T, all.data(), counts.data(), displs.data(), MPI_INT64_T, MPI_COMM_WORLD);
  return all;
}

}  // namespace

TEST(EpochShards, DisjointEqualAndReshuffledEachEpoch) {
  const int rank = worldRank(), size = worldSize();
  for (std::int64_t n : {std::int64_t{101}, std::int64_t{1000}, std::int64_t{7}}) {
    std::vector<std::int64_t> previous;
    for (int epoch = 0; epoch < 3; ++epoch) {
      auto shard = epochShard(n, 42, epoch, rank, size);
      EXPECT_EQ(static_cast<std::int64_t>(shard.size()), n / size);
      auto all = allgather(shard);
      std::set<std::int64_t> unique(all.begin(), all.end());
      EXPECT_EQ(unique.size(), all.size()) << "shards overlap at n=" << n << " epoch " << epoch;
      EXPECT_EQ(static_cast<std::int64_t>(all.size()), size * (n / size));
      for (auto v : all) EXPECT_TRUE(v >= 0 && v < n);
      std::int64_t steps = stepsPerEpoch(n, size, 16), lo = 0, hi = 0;
      MPI_Allreduce(&steps, &lo, 1, MPI_INT64_T, MPI_MIN, MPI_COMM_WORLD);
      MPI_Allreduce(&steps, &hi, 1, MPI_INT64_T, MPI_MAX, MPI_COMM_WORLD);
      EXPECT_EQ(lo, hi);
      if (epoch > 0 && n > 10) {
        EXPECT_NE(all, previous) << "the shuffle must change between epochs";
      }
      previous = all;
    }
  }
  // A function of seed and epoch only.
  EXPECT_EQ(epochPermutation(50, 3, 2), epochPermutation(50, 3, 2));
  EXPECT_NE(epochPermutation(50, 3, 2), epochPermutation(50, 4, 2));
}

TEST(SampleReader, ShardRowsMatchTheWholeTable) {
  test::SyntheticSamples spec;
  spec.train = 203;  // not a multiple of the ranks nor of a parcel
  const auto path = sharedFile("samples_io", "samples.h5", spec);
  SampleReader reader(path, MPI_COMM_WORLD);
  const auto& info = reader.info();
  ASSERT_EQ(info.classes(), spec.classes);
  ASSERT_EQ(info.periods, spec.periods);
  ASSERT_EQ(info.bands, spec.bands);
  ASSERT_EQ(reader.rows("train"), 203);
  auto whole = reader.readRange("train", 0, 203);
  auto shard = epochShard(203, 9, 1, worldRank(), worldSize());
  auto part = reader.read("train", shard);
  ASSERT_EQ(part.n, static_cast<std::int64_t>(shard.size()));
  const size_t cell = static_cast<size_t>(info.periods * info.bands);
  for (size_t i = 0; i < shard.size(); ++i) {
    const auto r = static_cast<size_t>(shard[i]);
    EXPECT_EQ(part.y[i], whole.y[r]);
    EXPECT_EQ(part.parcel[i], whole.parcel[r]);
    for (size_t c = 0; c < cell; ++c) ASSERT_EQ(part.x[i * cell + c], whole.x[r * cell + c]) << "row " << r;
  }
  // Normalised with the train statistics: mean ~0, std ~1 per band.
  for (int b = 0; b < info.bands; ++b) {
    double s = 0, q = 0;
    for (std::int64_t i = 0; i < whole.n; ++i)
      for (int p = 0; p < info.periods; ++p) {
        const double v = whole.x[static_cast<size_t>((i * info.periods + p) * info.bands + b)];
        s += v;
        q += v * v;
      }
    const double n = static_cast<double>(whole.n * info.periods);
    EXPECT_NEAR(s / n, 0.0, 1e-4);
    EXPECT_NEAR(std::sqrt(q / n - (s / n) * (s / n)), 1.0, 1e-3);
  }
  // A rank with nothing to read still joins the collective read.
  std::vector<std::int64_t> none;
  auto empty = reader.read("val", worldRank() == 0 ? std::vector<std::int64_t>{0, 5} : none);
  EXPECT_EQ(empty.n, worldRank() == 0 ? 2 : 0);
}

TEST(SampleReader, Uint16WithScaleFactorMatchesFloat) {
  test::SyntheticSamples spec;
  spec.train = 40;
  spec.val = 8;
  spec.test = 8;
  const auto pf = sharedFile("samples_io_f", "f.h5", spec);
  spec.uint16 = true;
  const auto pu = sharedFile("samples_io_u", "u.h5", spec);
  SampleReader rf(pf, MPI_COMM_WORLD), ru(pu, MPI_COMM_WORLD);
  // Same statistics so that only the storage differs.
  ru.setNormalisation(rf.info().bandMean, rf.info().bandStd);
  auto a = rf.readRange("train", 0, 40), b = ru.readRange("train", 0, 40);
  double worst = 0;
  for (size_t i = 0; i < a.x.size(); ++i) worst = std::max(worst, static_cast<double>(std::fabs(a.x[i] - b.x[i])));
  double minStd = *std::min_element(rf.info().bandStd.begin(), rf.info().bandStd.end());
  EXPECT_LT(worst, 0.51e-4 / minStd + 1e-6);  // half a quantisation step, in normalised units
  EXPECT_GT(worst, 0.0);                    // and the uint16 path really was taken
}

TEST(SampleReader, ErrorsNameTheFileAndKey) {
  const std::string missing = std::string(CROPMAP_TEST_TMP) + "/no/such/samples.h5";
  try {
    SampleReader r(missing, MPI_COMM_WORLD);
    FAIL() << "expected an error";
  } catch (const UsageError& e) {
    EXPECT_NE(std::string(e.what()).find(missing), std::string::npos) << e.what();
  }
  // Band statistics for the wrong number of bands.
  const std::string dir = std::string(CROPMAP_TEST_TMP) + "/samples_bad_np" + std::to_string(worldSize());
  const std::string bad = dir + "/bad.h5";
  if (worldRank() == 0) {
    test::scratchDir("samples_bad_np" + std::to_string(worldSize()));
    SampleFileInfo info;
    info.periods = 3;
    info.bands = 2;
    info.classNames = {"a", "b"};
    info.classWeights = {1, 1};
    info.bandNames = {"B1", "B2"};
    info.bandMean = {0, 0, 0};
    info.bandStd = {1, 1, 1};
    info.periodStarts = {"2022-01-01", "2022-02-01", "2022-03-01"};
    SampleSplit t;
    t.n = t.total = 2;
    t.x.assign(12, 0.5f);
    t.y = {0, 1};
    writeSamples(bad, Comm(MPI_COMM_SELF), info, {{"train", t}});
  }
  MPI_Barrier(MPI_COMM_WORLD);
  try {
    SampleReader r(bad, MPI_COMM_WORLD);
    FAIL() << "expected an error";
  } catch (const UsageError& e) {
    EXPECT_NE(std::string(e.what()).find("/band_mean"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find(bad), std::string::npos) << e.what();
  }
}
