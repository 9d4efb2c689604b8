// The fused inference engine against the LibTorch reference: every model,
// random weights with non-trivial batch-norm, layer-norm and band statistics
// (so every folding step of the export matters), pixel counts that do and do
// not divide the chunk, at 1 and 2 threads.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <set>

#include "kernels/fused_nets.hpp"
#include "pipeline/mpi.hpp"
#include "stages/predict/inference.hpp"
#include "tests/support/test_support.hpp"

namespace cropmap {
namespace {

using mapping::Classifier;
using mapping::Engine;
using mapping::EngineOptions;
using mapping::PixelDecisions;

constexpr int kPeriods = 12, kBands = 5;
const std::vector<double> kMean{0.05, 0.08, 0.06, 0.25, 0.18};
const std::vector<double> kStd{0.02, 0.03, 0.04, 0.09, 0.07};

struct Decided {
  std::vector<std::int32_t> cls, stop;
  std::vector<float> prob;
};

// Physical reflectances around the band statistics, with a seasonal swing.
std::vector<float> pixels(std::int64_t n, unsigned seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> noise(0, 1);
  std::vector<float> x(static_cast<size_t>(n) * kPeriods * kBands);
  for (std::int64_t i = 0; i < n; ++i)
    for (int t = 0; t < kPeriods; ++t)
      for (int b = 0; b < kBands; ++b)
        x[static_cast<size_t>((i * kPeriods + t) * kBands + b)] =
            static_cast<float>(kMean[static_cast<size_t>(b)] +
                               kStd[static_cast<size_t>(b)] * (std::sin(0.5 * t + 0.1 * static_cast<double>(i % 7)) +
                                                               noise(rng)));
  return x;
}

Decided decide(Classifier& c, std::vector<float> x, std::int64_t n) {
  Decided r;
  r.cls.resize(static_cast<size_t>(n));
  r.stop.resize(static_cast<size_t>(n));
  r.prob.resize(static_cast<size_t>(n));
  c.decide(x.data(), n, 64, PixelDecisions{r.cls.data(), r.prob.data(), r.stop.data()});
  return r;
}

void expectAgree(const Decided& ref, const Decided& got, const std::string& what) {
  const auto n = ref.cls.size();
  size_t sameClass = 0, sameStop = 0;
  float worst = 0;
  for (size_t i = 0; i < n; ++i) {
    sameClass += ref.cls[i] == got.cls[i];
    sameStop += ref.stop[i] == got.stop[i];
    if (ref.cls[i] == got.cls[i]) worst = std::max(worst, std::abs(ref.prob[i] - got.prob[i]));
  }
  EXPECT_GE(static_cast<double>(sameClass), 0.999 * static_cast<double>(n)) << what;
  EXPECT_GE(static_cast<double>(sameStop), 0.999 * static_cast<double>(n)) << what;
  EXPECT_LE(worst, 1e-4f) << what;
}

class FusedVsTorch : public ::testing::TestWithParam<std::string> {};

TEST_P(FusedVsTorch, AgreeOnRandomWeights) {
  const std::string model = GetParam();
  const std::string path = test::scratchDir("fused_" + model) + "/model.pt";
  const std::vector<std::string> classes{"a", "b", "c", "d", "e", "f", "g"};
  Classifier::writeRandomModel(path, model, kPeriods, kBands, classes, kMean, kStd, 11);
  auto torch = Classifier::load(path, EngineOptions{Engine::Torch, 1, 0});
  for (std::int64_t n : {256, 301}) {
    const auto x = pixels(n, static_cast<unsigned>(n));
    const Decided ref = decide(*torch, x, n);
    // The reference is not degenerate: several classes, and earlyrnn stops at several periods.
    EXPECT_GT(std::set<std::int32_t>(ref.cls.begin(), ref.cls.end()).size(), 1u) << model;
    if (model == "earlyrnn") {
      EXPECT_GT(std::set<std::int32_t>(ref.stop.begin(), ref.stop.end()).size(), 1u);
    }
    for (int threads : {1, 2})
      for (int rows : {64, 37}) {
        auto fused = Classifier::load(path, EngineOptions{Engine::Fused, threads, rows});
        EXPECT_EQ(fused->info().rows, rows);
        const std::string what = model + " n=" + std::to_string(n) + " threads=" + std::to_string(threads) +
                                 " rows=" + std::to_string(rows);
        expectAgree(ref, decide(*fused, x, n), what);
        // The BLAS fallback of the GEMMs takes the same decisions.
        fused::useBlasOnly(true);
        expectAgree(ref, decide(*fused, x, n), what + " blas");
        fused::useBlasOnly(false);
      }
  }
}

TEST_P(FusedVsTorch, MeasuredChunkIsACandidate) {
  auto fused = Classifier::untrained(GetParam(), kPeriods, kBands, {"a", "b", "c"}, {32, 16},
                                     EngineOptions{Engine::Fused, 1, 0});
  const int rows = fused->info().rows;
  EXPECT_GE(rows, 16);
  EXPECT_LE(rows, 512);
  EXPECT_EQ(rows % 8, 0) << rows;
  EXPECT_GT(fused->info().flopsPerPixel, 0);
  EXPECT_GT(fused->info().workingSetBytes, 0);
}

INSTANTIATE_TEST_SUITE_P(Models, FusedVsTorch, ::testing::Values("lstm", "earlyrnn", "tempcnn"));

TEST(FusedDispatch, PicksAPathThisCpuRuns) {
  __builtin_cpu_init();
  const std::string isa = fused::elementwiseIsa();
  if (isa == "avx512") {
    EXPECT_TRUE(__builtin_cpu_supports("avx512f"));
  } else if (isa == "avx2") {
    EXPECT_TRUE(__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"));
  } else {
    EXPECT_EQ(isa, "baseline");
  }
  EXPECT_EQ(fused::blasName().rfind("OpenBLAS", 0), 0u);
  EXPECT_EQ(fused::gemmPath(), __builtin_cpu_supports("avx512f") ? "AVX-512 microkernel" : fused::blasName());
  const double peak = fused::measureFmaPeak(0.02);
  if (isa != "baseline") {
    EXPECT_GT(peak, 1.0);
  }
}

TEST(FusedEngine, UnknownEngineIsAUsageError) {
  EXPECT_THROW(mapping::parseEngine("gpu"), UsageError);
  EXPECT_EQ(mapping::parseEngine("torch"), Engine::Torch);
}

}  // namespace
}  // namespace cropmap
