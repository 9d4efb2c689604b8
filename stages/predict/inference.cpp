#include "inference.hpp"

#include <torch/torch.h>

#include <algorithm>
#include <stdexcept>

#include "map_writer.hpp"
#include "pipeline/mpi.hpp"
#include "stages/train/models.hpp"

namespace cropmap::mapping {

namespace {

class TorchClassifier final : public Classifier {
 public:
  TorchClassifier(LoadedModel lm, std::string path, int threads) : lm_(std::move(lm)) {
    torch::set_num_threads(std::max(1, threads));
    const auto& m = lm_.meta;
    info_.path = std::move(path);
    info_.name = m.spec.name;
    info_.periods = m.spec.periods;
    info_.bands = m.spec.bands;
    info_.classNames = m.classNames;
    info_.bandNames = m.bandNames;
    info_.periodStarts = m.periodStarts;
    if (m.classNames.size() > 255 || m.spec.classes > 255)
      throw UsageError(info_.path + ": " + std::to_string(m.spec.classes) +
                       " classes; maps store class ids as bytes (at most 255 classes)");
    if (m.bandMean.size() != static_cast<size_t>(info_.bands) || m.bandStd.size() != static_cast<size_t>(info_.bands))
      throw UsageError(info_.path + ": band statistics do not match the model's " + std::to_string(info_.bands) +
                       " bands");
    // The same float arithmetic as the sample reader (SampleReader::readRows),
    // so a pixel gets bit-identical inputs in evaluate and predict.
    mean_.assign(m.bandMean.begin(), m.bandMean.end());
    inv_.resize(m.bandStd.size());
    for (size_t b = 0; b < inv_.size(); ++b) inv_[b] = static_cast<float>(1.0 / m.bandStd[b]);
  }

  const ModelInfo& info() const override { return info_; }

  void classify(float* x, std::int64_t n, int batchSize, std::uint8_t* cls, std::uint8_t* conf,
                std::uint8_t* stop) override {
    const std::int64_t P = info_.periods, B = info_.bands;
    const size_t cell = static_cast<size_t>(P * B);
    for (size_t i = 0; i < static_cast<size_t>(n) * cell; ++i) {
      const size_t b = i % static_cast<size_t>(B);
      x[i] = (x[i] - mean_[b]) * inv_[b];
    }
    torch::NoGradGuard noGrad;
    auto all = torch::from_blob(x, {n, P, B}, torch::kFloat);
    for (std::int64_t b0 = 0; b0 < n; b0 += batchSize) {
      const std::int64_t k = std::min<std::int64_t>(batchSize, n - b0);
      ModelOutput out = lm_.model->forward(all.narrow(0, b0, k));
      Prediction p = predict(out);
      // The posterior the class was taken from: the last step, or earlyrnn's stopping step.
      torch::Tensor logProbs = out.logProbs;
      if (out.stopProbs.defined()) {
        auto idx = p.stopStep.view({-1, 1, 1}).expand({-1, 1, out.stepLogProbs.size(2)});
        logProbs = out.stepLogProbs.gather(1, idx).squeeze(1);
      }
      auto maxProb = logProbs.exp().gather(1, p.classes.view({-1, 1})).squeeze(1).to(torch::kFloat).contiguous();
      auto c = p.classes.to(torch::kLong).contiguous();
      auto s = p.stopStep.to(torch::kLong).contiguous();
      const auto* cp = c.data_ptr<std::int64_t>();
      const auto* sp = s.data_ptr<std::int64_t>();
      const auto* mp = maxProb.data_ptr<float>();
      for (std::int64_t i = 0; i < k; ++i) {
        cls[b0 + i] = static_cast<std::uint8_t>(cp[i]);
        conf[b0 + i] = confidenceByte(mp[i]);
        if (stop) stop[b0 + i] = info_.earlyStopping() ? static_cast<std::uint8_t>(sp[i]) : 0;
      }
    }
  }

 private:
  LoadedModel lm_;
  ModelInfo info_;
  std::vector<float> mean_, inv_;
};

}  // namespace

std::unique_ptr<Classifier> Classifier::load(const std::string& path, int threads) {
  return std::make_unique<TorchClassifier>(loadModelFile(path), path, threads);
}

std::vector<std::string> Classifier::architectures() { return modelNames(); }

bool ModelInfo::earlyStopping() const { return modelKind(name).earlyStopping; }

std::unique_ptr<Classifier> Classifier::untrained(const std::string& name, int periods, int bands,
                                                  const std::vector<std::string>& classNames,
                                                  const std::vector<int>& lstmHidden, int threads) {
  torch::manual_seed(0);
  LoadedModel lm;
  lm.meta.spec.name = name;
  lm.meta.spec.periods = periods;
  lm.meta.spec.bands = bands;
  lm.meta.spec.classes = static_cast<int>(classNames.size());
  if (!lstmHidden.empty()) lm.meta.spec.hidden = lstmHidden;
  lm.meta.classNames = classNames;
  lm.meta.bandMean.assign(static_cast<size_t>(bands), 0.0);
  lm.meta.bandStd.assign(static_cast<size_t>(bands), 1.0);
  lm.model = makeModel(lm.meta.spec);
  lm.model->eval();
  return std::make_unique<TorchClassifier>(std::move(lm), "untrained " + name, threads);
}

}  // namespace cropmap::mapping
