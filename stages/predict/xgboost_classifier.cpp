#include "xgboost_classifier.hpp"

#include <algorithm>

#include "pipeline/mpi.hpp"
#include "stages/train/xgboost_model.hpp"

namespace cropmap::mapping {

namespace {

class BoostedTreesClassifier final : public Classifier {
 public:
  BoostedTreesClassifier(xgb::Booster booster, const std::string& path, int threads)
      : booster_(std::move(booster)), threads_(std::max(1, threads)) {
    const auto& m = booster_.meta();
    if (m.classes() > 255)
      throw UsageError(path + ": " + std::to_string(m.classes()) +
                       " classes; maps store class ids as bytes (at most 255 classes)");
    booster_.setParam("nthread", std::to_string(threads_));
    info_.path = path;
    info_.name = m.name;
    info_.periods = m.periods;
    info_.bands = m.bands;
    info_.classNames = m.classNames;
    info_.bandNames = m.bandNames;
    info_.periodStarts = m.periodStarts;
    info_.epoch = m.rounds;
    info_.engine = Engine::Xgboost;
  }

  const ModelInfo& info() const override { return info_; }

  // x holds physical values with NaN where the cube has no data: XGBoost's
  // missing value, which the trees route as they learnt to.
  void decide(float* x, std::int64_t n, int batchSize, const PixelDecisions& out) override {
    const std::int64_t features = static_cast<std::int64_t>(info_.periods) * info_.bands;
    const int K = static_cast<int>(info_.classNames.size());
    const std::int64_t batch = std::max(1, batchSize);
    for (std::int64_t b0 = 0; b0 < n; b0 += batch) {
      const std::int64_t k = std::min(batch, n - b0);
      booster_.predictDense(x + b0 * features, k, features, prob_);
      for (std::int64_t i = 0; i < k; ++i) {
        const float* p = prob_.data() + i * K;
        const float* best = std::max_element(p, p + K);
        out.cls[b0 + i] = static_cast<std::int32_t>(best - p);
        out.prob[b0 + i] = *best;
        if (out.stop) out.stop[b0 + i] = 0;
      }
    }
  }

 private:
  xgb::Booster booster_;
  int threads_;
  ModelInfo info_;
  std::vector<float> prob_;
};

}  // namespace

std::unique_ptr<Classifier> loadBoostedTrees(const std::string& path, const EngineOptions& options) {
  return std::make_unique<BoostedTreesClassifier>(xgb::Booster::load(path), path, options.threads);
}

}  // namespace cropmap::mapping
