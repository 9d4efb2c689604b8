// The XGBoost model module and its Classifier, without MPI: boosted trees
// learn a separable toy problem with missing values, a saved model predicts
// bit for bit what the trained one did, through the module and through
// Classifier::load, and files that are not cropmap XGBoost models are refused
// naming the file.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <random>

#include "pipeline/mpi.hpp"
#include "stages/predict/inference.hpp"
#include "stages/train/xgboost_model.hpp"
#include "tests/support/test_support.hpp"

using namespace cropmap;
namespace fs = std::filesystem;

namespace {

constexpr int kP = 3, kB = 2, kF = kP * kB, kK = 3;

// Class c has its peak in period c; a tenth of the values are missing.
void toy(int n, std::uint32_t seed, std::vector<float>& x, std::vector<float>& y) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> noise(0.f, 0.15f);
  std::uniform_int_distribution<int> cls(0, kK - 1);
  std::uniform_real_distribution<float> u(0.f, 1.f);
  x.assign(static_cast<size_t>(n) * kF, 0.f);
  y.assign(static_cast<size_t>(n), 0.f);
  for (int i = 0; i < n; ++i) {
    const int c = cls(rng);
    y[static_cast<size_t>(i)] = static_cast<float>(c);
    for (int p = 0; p < kP; ++p)
      for (int b = 0; b < kB; ++b) {
        float v = (p == c ? 0.6f : 0.2f) * (b + 1) + noise(rng);
        if (u(rng) < 0.1f) v = NAN;
        x[static_cast<size_t>(i * kF + p * kB + b)] = v;
      }
  }
}

xgb::BoosterMeta meta() {
  xgb::BoosterMeta m;
  m.periods = kP;
  m.bands = kB;
  m.classNames = {"wheat", "maize", "grass"};
  m.bandNames = {"B04", "B08"};
  m.periodStarts = {"2022-04-01", "2022-06-01", "2022-08-01"};
  m.rounds = 20;
  return m;
}

}  // namespace

TEST(Xgboost, LearnsToyProblemAndRoundTripsExactly) {
  std::vector<float> x, y, tx, ty;
  toy(600, 1, x, y);
  toy(300, 2, tx, ty);
  xgb::DMatrix train(x.data(), 600, kF, 1), test(tx.data(), 300, kF, 1);
  train.setLabels(y);
  xgb::Booster b({&train});
  b.setParam("objective", "multi:softprob");
  b.setParam("num_class", std::to_string(kK));
  b.setParam("tree_method", "hist");
  b.setParam("nthread", "1");
  b.setParam("seed", "0");
  for (int i = 0; i < 20; ++i) b.updateOneIter(i, train);
  std::vector<float> prob;
  b.predict(test, prob);
  ASSERT_EQ(prob.size(), static_cast<size_t>(300 * kK));
  int correct = 0;
  for (int i = 0; i < 300; ++i) {
    const float* p = prob.data() + i * kK;
    correct += static_cast<int>(std::max_element(p, p + kK) - p) == static_cast<int>(ty[static_cast<size_t>(i)]);
  }
  EXPECT_GT(correct, 0.9 * 300) << "chance is 1/3";

  const std::string dir = test::scratchDir("xgboost_unit");
  const std::string path = dir + "/model.ubj";
  b.save(path, meta());
  EXPECT_TRUE(fs::exists(path));
  EXPECT_TRUE(xgb::looksLikeXgboostModel(path));
  xgb::Booster back = xgb::Booster::load(path);
  EXPECT_EQ(back.meta().classNames, meta().classNames);
  EXPECT_EQ(back.meta().periodStarts, meta().periodStarts);
  EXPECT_EQ(back.meta().rounds, 20);
  std::vector<float> again;
  back.predict(test, again);
  EXPECT_EQ(again, prob);  // bit for bit

  // Through the engine-neutral loader that predict and evaluate use.
  auto clf = mapping::Classifier::load(path, mapping::EngineOptions{mapping::Engine::Fused, 1, 0});
  EXPECT_EQ(clf->info().name, "xgboost");
  EXPECT_EQ(clf->info().engine, mapping::Engine::Xgboost);
  EXPECT_EQ(clf->info().bands, kB);
  EXPECT_FALSE(clf->info().earlyStopping());
  std::vector<std::int32_t> cls(300), stop(300);
  std::vector<float> maxProb(300);
  std::vector<float> xs = tx;
  clf->decide(xs.data(), 300, 64, mapping::PixelDecisions{cls.data(), maxProb.data(), stop.data()});
  for (int i = 0; i < 300; ++i) {
    const float* p = prob.data() + i * kK;
    EXPECT_EQ(cls[static_cast<size_t>(i)], static_cast<int>(std::max_element(p, p + kK) - p));
    EXPECT_EQ(maxProb[static_cast<size_t>(i)], *std::max_element(p, p + kK));
    EXPECT_EQ(stop[static_cast<size_t>(i)], 0);
  }
}

TEST(Xgboost, RefusesFilesThatAreNotCropmapModels) {
  const std::string dir = test::scratchDir("xgboost_errors");
  auto message = [](const std::string& path) {
    try {
      mapping::Classifier::load(path, mapping::EngineOptions{});
    } catch (const UsageError& e) {
      return std::string(e.what());
    }
    return std::string("no UsageError");
  };
  const std::string missing = dir + "/missing.ubj";
  EXPECT_NE(message(missing).find(missing), std::string::npos) << message(missing);
  const std::string garbage = dir + "/garbage.ubj";
  test::writeFile(garbage, "{this is not a model");
  EXPECT_NE(message(garbage).find(garbage + ": not an XGBoost model"), std::string::npos) << message(garbage);

  // A valid XGBoost model that lacks cropmap's metadata.
  std::vector<float> x, y;
  toy(60, 3, x, y);
  xgb::DMatrix m(x.data(), 60, kF, 1);
  m.setLabels(y);
  xgb::Booster b({&m});
  b.setParam("objective", "multi:softprob");
  b.setParam("num_class", std::to_string(kK));
  b.updateOneIter(0, m);
  b.save(dir + "/plain.ubj", meta());
  std::string bytes = test::readFile(dir + "/plain.ubj");
  const auto at = bytes.find("cropmap");
  ASSERT_NE(at, std::string::npos);
  bytes[at + 6] = 'q';  // the attribute renamed in place: same length, still valid UBJSON
  test::writeFile(dir + "/plain.ubj", bytes);
  EXPECT_NE(message(dir + "/plain.ubj").find("without cropmap's metadata"), std::string::npos)
      << message(dir + "/plain.ubj");
  xgb::check(0, "no error");
  EXPECT_THROW(xgb::check(-1, "failing call"), std::runtime_error);
}
