#include "inference.hpp"

#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <stdexcept>

#include "kernels/fused_nets.hpp"
#include "map_writer.hpp"
#include "pipeline/mpi.hpp"
#include "stages/train/models.hpp"
#include "stages/train/xgboost_model.hpp"
#include "xgboost_classifier.hpp"

namespace cropmap::mapping {

namespace {

// A fixed thread budget for LibTorch and the BLAS under it, and denormals
// flushed: without these the rate of one rank depended on what else ran on the node.
void pinThreads(int threads) {
  torch::set_num_threads(std::max(1, threads));
  fused::setBlasThreads(threads);
  at::globalContext().setFlushDenormal(true);
}

ModelInfo describe(const ModelMeta& m, std::string path) {
  ModelInfo info;
  info.path = std::move(path);
  info.name = m.spec.name;
  info.periods = m.spec.periods;
  info.bands = m.spec.bands;
  info.classNames = m.classNames;
  info.bandNames = m.bandNames;
  info.periodStarts = m.periodStarts;
  info.epoch = m.epoch;
  if (m.classNames.size() > 255 || m.spec.classes > 255)
    throw UsageError(info.path + ": " + std::to_string(m.spec.classes) +
                     " classes; maps store class ids as bytes (at most 255 classes)");
  if (m.bandMean.size() != static_cast<size_t>(info.bands) || m.bandStd.size() != static_cast<size_t>(info.bands))
    throw UsageError(info.path + ": band statistics do not match the model's " + std::to_string(info.bands) +
                     " bands");
  return info;
}

class TorchClassifier final : public Classifier {
 public:
  TorchClassifier(LoadedModel lm, std::string path, int threads) : lm_(std::move(lm)) {
    pinThreads(threads);
    info_ = describe(lm_.meta, std::move(path));
    info_.engine = Engine::Torch;
    // The same float arithmetic as the sample reader (SampleReader::readRows),
    // so a pixel gets bit-identical inputs in evaluate and predict.
    const auto& m = lm_.meta;
    mean_.assign(m.bandMean.begin(), m.bandMean.end());
    inv_.resize(m.bandStd.size());
    for (size_t b = 0; b < inv_.size(); ++b) inv_[b] = static_cast<float>(1.0 / m.bandStd[b]);
  }

  const ModelInfo& info() const override { return info_; }

  void decide(float* x, std::int64_t n, int batchSize, const PixelDecisions& out) override {
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
      ModelOutput o = lm_.model->forward(all.narrow(0, b0, k));
      Prediction p = predict(o);
      // The posterior the class was taken from: the last step, or earlyrnn's stopping step.
      torch::Tensor logProbs = o.logProbs;
      if (o.stopProbs.defined()) {
        auto idx = p.stopStep.view({-1, 1, 1}).expand({-1, 1, o.stepLogProbs.size(2)});
        logProbs = o.stepLogProbs.gather(1, idx).squeeze(1);
      }
      auto maxProb = logProbs.exp().gather(1, p.classes.view({-1, 1})).squeeze(1).to(torch::kFloat).contiguous();
      auto c = p.classes.to(torch::kLong).contiguous();
      auto s = p.stopStep.to(torch::kLong).contiguous();
      const auto* cp = c.data_ptr<std::int64_t>();
      const auto* sp = s.data_ptr<std::int64_t>();
      const auto* mp = maxProb.data_ptr<float>();
      for (std::int64_t i = 0; i < k; ++i) {
        out.cls[b0 + i] = static_cast<std::int32_t>(cp[i]);
        out.prob[b0 + i] = mp[i];
        if (out.stop) out.stop[b0 + i] = info_.earlyStopping() ? static_cast<std::int32_t>(sp[i]) : 0;
      }
    }
  }

 private:
  LoadedModel lm_;
  ModelInfo info_;
  std::vector<float> mean_, inv_;
};

// ---------------------------------------------------------------------------
// Export of a LibTorch module into the fused kernels' arrays. The folding is
// done in double precision; only the final arrays are float.

class Exporter {
 public:
  explicit Exporter(SeriesModelImpl& model, std::string what) : what_(std::move(what)) {
    for (const auto& p : model.named_parameters(true)) tensors_[p.key()] = p.value().detach();
    for (const auto& b : model.named_buffers(true)) tensors_[b.key()] = b.value().detach();
  }
  torch::Tensor operator()(const std::string& name) const {
    auto it = tensors_.find(name);
    if (it == tensors_.end()) throw std::runtime_error(what_ + ": no tensor '" + name + "' to export");
    return it->second.to(torch::kDouble).contiguous();
  }

 private:
  std::string what_;
  std::map<std::string, torch::Tensor> tensors_;
};

std::vector<float> floats(const torch::Tensor& t) {
  auto c = t.to(torch::kFloat).contiguous();
  return std::vector<float>(c.data_ptr<float>(), c.data_ptr<float>() + c.numel());
}

// Linear weight [out, in] -> w[in][out].
fused::Dense dense(const torch::Tensor& w, const torch::Tensor& b) {
  fused::Dense d;
  d.out = static_cast<int>(w.size(0));
  d.in = static_cast<int>(w.size(1));
  d.w = floats(w.t());
  d.b = floats(b);
  return d;
}

// The (scale, shift) of a batch norm in eval mode: y = x * scale + shift.
std::pair<torch::Tensor, torch::Tensor> batchNorm(const Exporter& e, const std::string& prefix) {
  const double eps = 1e-5;  // LibTorch's default, which the models use
  auto scale = e(prefix + ".weight") / torch::sqrt(e(prefix + ".running_var") + eps);
  auto shift = e(prefix + ".bias") - e(prefix + ".running_mean") * scale;
  return {scale, shift};
}

// One LSTM layer; wih/bias may already carry folded input transforms.
fused::LstmLayer lstmLayer(const torch::Tensor& wih, const torch::Tensor& whh, const torch::Tensor& bias) {
  fused::LstmLayer l;
  l.hidden = static_cast<int>(whh.size(1));
  l.in = static_cast<int>(wih.size(1));
  l.wx = floats(wih.t());
  l.wh = floats(whh.t());
  l.b = floats(bias);
  return l;
}

fused::FusedNet exportNet(SeriesModelImpl& model, const ModelMeta& meta, const std::string& what) {
  const Exporter e(model, what);
  const auto& spec = meta.spec;
  fused::FusedNet net;
  net.periods = spec.periods;
  net.bands = spec.bands;
  net.classes = spec.classes;
  auto mean = torch::tensor(c10::ArrayRef<double>(meta.bandMean), torch::kDouble);
  auto inv = torch::reciprocal(torch::tensor(c10::ArrayRef<double>(meta.bandStd), torch::kDouble));
  if (spec.name == "lstm") {
    net.kind = fused::NetKind::Lstm;
    for (size_t i = 0; i < spec.hidden.size(); ++i) {
      const std::string p = "lstm" + std::to_string(i) + ".";
      auto wih = e(p + "weight_ih_l0");
      auto bias = e(p + "bias_ih_l0") + e(p + "bias_hh_l0");
      if (i == 0) {  // (x - mean) * inv folded into the input projection
        bias = bias - wih.mv(mean * inv);
        wih = wih * inv.unsqueeze(0);
      }
      net.lstm.push_back(lstmLayer(wih, e(p + "weight_hh_l0"), bias));
    }
    net.head = dense(e("head.weight"), e("head.bias"));
  } else if (spec.name == "earlyrnn") {
    net.kind = fused::NetKind::EarlyRnn;
    net.mean = floats(mean);
    net.scale = floats(inv);
    // W_ih0 (W_e (gamma * z + beta) + b_e) + b_ih0 + b_hh0: the layer-norm
    // affine and the embedding folded into the first input projection.
    auto we = e("embed.weight") * e("norm.weight").unsqueeze(0);
    auto be = e("embed.weight").mv(e("norm.bias")) + e("embed.bias");
    for (int l = 0; l < 2; ++l) {
      const std::string s = "_l" + std::to_string(l);
      auto wih = e("lstm.weight_ih" + s);
      auto bias = e("lstm.bias_ih" + s) + e("lstm.bias_hh" + s);
      if (l == 0) {
        bias = bias + wih.mv(be);
        wih = wih.mm(we);
      }
      net.lstm.push_back(lstmLayer(wih, e("lstm.weight_hh" + s), bias));
    }
    net.head = dense(torch::cat({e("classify.weight"), e("stop.weight")}, 0),
                     torch::cat({e("classify.bias"), e("stop.bias")}, 0));
  } else if (spec.name == "tempcnn") {
    net.kind = fused::NetKind::TempCnn;
    const std::int64_t T = spec.periods;
    for (int i = 0; i < 3; ++i) {
      auto w = e("conv" + std::to_string(i) + ".weight");  // [out, in, kernel]
      auto [scale, shift] = batchNorm(e, "bn" + std::to_string(i));
      w = w * scale.view({-1, 1, 1});
      auto b = e("conv" + std::to_string(i) + ".bias") * scale + shift;
      const std::int64_t K = w.size(2), pad = K / 2;
      auto bias = b.unsqueeze(0).repeat({T, 1});  // [T, out]
      if (i == 0) {
        // Normalisation folded in: the weights take inv; the shift -mean*inv
        // reaches output period t only through the taps that fall inside the
        // series (padding is zero in normalised units).
        w = w * inv.view({1, -1, 1});
        auto tap = (w * mean.view({1, -1, 1})).sum(1);  // [out, kernel]
        auto acc = bias.accessor<double, 2>();
        auto ta = tap.accessor<double, 2>();
        for (std::int64_t t = 0; t < T; ++t)
          for (std::int64_t k = 0; k < K; ++k)
            if (t + k - pad >= 0 && t + k - pad < T)
              for (std::int64_t o = 0; o < w.size(0); ++o) acc[t][o] -= ta[o][k];
      }
      fused::Conv c;
      c.out = static_cast<int>(w.size(0));
      c.in = static_cast<int>(w.size(1));
      c.kernel = static_cast<int>(K);
      c.w = floats(w.permute({2, 1, 0}));  // [kernel][in][out]
      c.bias = floats(bias);
      net.convs.push_back(std::move(c));
    }
    // The dense layer reads LibTorch's flatten order (channel, period); the
    // fused activations are (period, channel).
    auto w = e("dense.weight");
    auto [scale, shift] = batchNorm(e, "dense_bn");
    w = w * scale.unsqueeze(1);
    const std::int64_t C = net.convs.back().out;
    net.dense.out = static_cast<int>(w.size(0));
    net.dense.in = static_cast<int>(w.size(1));
    net.dense.w = floats(w.view({w.size(0), C, T}).permute({2, 1, 0}));
    net.dense.b = floats(e("dense.bias") * scale + shift);
    net.head = dense(e("head.weight"), e("head.bias"));
  } else {
    throw UsageError(what + ": the fused engine has no export for model '" + spec.name +
                     "'; set predict.engine: torch");
  }
  net.check();
  return net;
}

class FusedClassifier final : public Classifier {
 public:
  FusedClassifier(const LoadedModel& lm, std::string path, const EngineOptions& o) : threads_(std::max(1, o.threads)) {
    info_ = describe(lm.meta, std::move(path));
    net_ = exportNet(*lm.model, lm.meta, info_.path);
    info_.engine = Engine::Fused;
    info_.rows = o.rows > 0 ? o.rows : fused::measureBestRows(net_, {16, 24, 48, 96, 192, 384, 512});
    info_.workingSetBytes = net_.workingSetBytes(info_.rows);
    info_.flopsPerPixel = net_.flopsPerPixel();
  }
  const ModelInfo& info() const override { return info_; }
  void decide(float* x, std::int64_t n, int, const PixelDecisions& out) override {
    fused::runNet(net_, x, n, info_.rows, threads_, fused::Decisions{out.cls, out.prob, out.stop});
  }

 private:
  ModelInfo info_;
  fused::FusedNet net_;
  int threads_;
};

std::unique_ptr<Classifier> makeClassifier(LoadedModel lm, std::string path, const EngineOptions& o) {
  if (o.engine == Engine::Fused) return std::make_unique<FusedClassifier>(lm, std::move(path), o);
  return std::make_unique<TorchClassifier>(std::move(lm), std::move(path), o.threads);
}

LoadedModel freshModel(const std::string& name, int periods, int bands, const std::vector<std::string>& classNames,
                       const std::vector<int>& lstmHidden) {
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
  return lm;
}

}  // namespace

Engine parseEngine(const std::string& text, const std::string& key) {
  if (text == "fused") return Engine::Fused;
  if (text == "torch") return Engine::Torch;
  throw UsageError(key + ": expected fused or torch, got '" + text + "'");
}

EngineOptions engineOptions(const Config& cfg) {
  EngineOptions o;
  o.engine = parseEngine(cfg.predict.engine);
  o.threads = cfg.threads();
  o.rows = cfg.predict.fused_rows;
  return o;
}

void Classifier::classify(float* x, std::int64_t n, int batchSize, std::uint8_t* cls, std::uint8_t* conf,
                          std::uint8_t* stop) {
  cls_.resize(static_cast<size_t>(n));
  prob_.resize(static_cast<size_t>(n));
  stop_.resize(static_cast<size_t>(n));
  decide(x, n, batchSize, PixelDecisions{cls_.data(), prob_.data(), stop_.data()});
  for (std::int64_t i = 0; i < n; ++i) {
    cls[i] = static_cast<std::uint8_t>(cls_[static_cast<size_t>(i)]);
    conf[i] = confidenceByte(prob_[static_cast<size_t>(i)]);
    if (stop) stop[i] = static_cast<std::uint8_t>(stop_[static_cast<size_t>(i)]);
  }
}

std::unique_ptr<Classifier> Classifier::load(const std::string& path, const EngineOptions& options) {
  if (xgb::looksLikeXgboostModel(path)) return loadBoostedTrees(path, options);
  return makeClassifier(loadModelFile(path), path, options);
}

std::vector<std::string> Classifier::architectures() { return modelNames("torch"); }

bool ModelInfo::earlyStopping() const { return modelKind(name).earlyStopping; }

std::unique_ptr<Classifier> Classifier::untrained(const std::string& name, int periods, int bands,
                                                  const std::vector<std::string>& classNames,
                                                  const std::vector<int>& lstmHidden, const EngineOptions& options) {
  torch::manual_seed(0);
  return makeClassifier(freshModel(name, periods, bands, classNames, lstmHidden), "untrained " + name, options);
}

void Classifier::writeRandomModel(const std::string& path, const std::string& name, int periods, int bands,
                                  const std::vector<std::string>& classNames, const std::vector<double>& bandMean,
                                  const std::vector<double>& bandStd, std::uint64_t seed) {
  torch::manual_seed(seed);
  LoadedModel lm = freshModel(name, periods, bands, classNames, {48, 32});
  lm.meta.bandMean = bandMean;
  lm.meta.bandStd = bandStd;
  {
    torch::NoGradGuard g;
    for (auto& b : lm.model->named_buffers(true)) {
      const auto& key = b.key();
      if (key.size() > 13 && key.compare(key.size() - 13, 13, ".running_mean") == 0) b.value().normal_(0, 0.3);
      if (key.size() > 12 && key.compare(key.size() - 12, 12, ".running_var") == 0) b.value().uniform_(0.5, 2.0);
    }
    for (auto& p : lm.model->named_parameters(true)) {
      const auto& key = p.key();
      // Layer-norm and batch-norm affines away from their identity start.
      if (key.find("norm.") == 0 || key.find("bn") == 0 || key.find("dense_bn.") == 0)
        p.value().add_(torch::randn_like(p.value()) * 0.2);
      // Input and output layers strong enough that pixels differ in class and
      // earlyrnn in stopping period (fresh, posteriors are nearly uniform and
      // the same for every pixel, and earlyrnn never stops).
      if (key.find("head.") == 0 || key.find("classify.") == 0 || key.find("stop.") == 0) p.value().mul_(6.0);
      if (key.find("embed.weight") == 0 || key.find("weight_ih") != std::string::npos) p.value().mul_(4.0);
      if (key == "stop.bias") p.value().fill_(0.0);
    }
  }
  torch::serialize::OutputArchive archive;
  writeModel(archive, *lm.model, lm.meta);
  saveArchive(archive, path);
}

double Classifier::plainForwardRate(const std::string& name, int periods, int bands, int classes,
                                    const std::vector<int>& lstmHidden, int batch, int threads, double seconds) {
  pinThreads(threads);
  std::vector<std::string> names(static_cast<size_t>(classes));
  torch::manual_seed(0);
  LoadedModel lm = freshModel(name, periods, bands, names, lstmHidden);
  torch::NoGradGuard noGrad;
  auto x = torch::rand({batch, periods, bands});
  lm.model->forward(x);  // warm-up: allocator and lazy initialisation
  using Clock = std::chrono::steady_clock;
  std::int64_t pixels = 0;
  const auto t0 = Clock::now();
  double dt = 0;
  do {
    auto out = lm.model->forward(x);
    pixels += batch;
    dt = std::chrono::duration<double>(Clock::now() - t0).count();
  } while (dt < seconds);
  return static_cast<double>(pixels) / dt;
}

}  // namespace cropmap::mapping
