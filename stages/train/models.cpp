#include "models.hpp"

#include <cerrno>
#include <cstdio>
#include <filesystem>
#include <sstream>

#include "pipeline/gdal_io.hpp"
#include "pipeline/mpi.hpp"
#include "pipeline/paths.hpp"

namespace cropmap {

namespace {

namespace nn = torch::nn;

class LstmImpl final : public SeriesModelImpl {
 public:
  explicit LstmImpl(const ModelSpec& s) : dropout_(s.dropout) {
    int in = s.bands;
    for (size_t i = 0; i < s.hidden.size(); ++i) {
      layers_.push_back(register_module("lstm" + std::to_string(i),
                                        nn::LSTM(nn::LSTMOptions(in, s.hidden[i]).batch_first(true))));
      in = s.hidden[i];
    }
    drop_ = register_module("dropout", nn::Dropout(s.dropout));
    head_ = register_module("head", nn::Linear(in, s.classes));
  }
  ModelOutput forward(const torch::Tensor& x) override {
    torch::Tensor h = x;
    for (size_t i = 0; i < layers_.size(); ++i) {
      h = std::get<0>(layers_[i]->forward(h));
      if (i + 1 < layers_.size() && dropout_ > 0) h = drop_->forward(h);
    }
    ModelOutput out;
    out.logProbs = torch::log_softmax(head_->forward(drop_->forward(h.select(1, -1))), -1);
    return out;
  }

 private:
  double dropout_;
  std::vector<nn::LSTM> layers_;
  nn::Dropout drop_{nullptr};
  nn::Linear head_{nullptr};
};

class EarlyRnnImpl final : public SeriesModelImpl {
 public:
  static constexpr int kHidden = 64;
  explicit EarlyRnnImpl(const ModelSpec& s) {
    // Submodule names must not be Python keywords ("in"): the archive format is TorchScript.
    norm_ = register_module("norm", nn::LayerNorm(nn::LayerNormOptions({s.bands})));
    in_ = register_module("embed", nn::Linear(s.bands, kHidden));
    lstm_ = register_module(
        "lstm", nn::LSTM(nn::LSTMOptions(kHidden, kHidden).num_layers(2).dropout(s.dropout).batch_first(true)));
    classify_ = register_module("classify", nn::Linear(kHidden, s.classes));
    stop_ = register_module("stop", nn::Linear(kHidden, 1));
    // Start out rarely stopping (sigmoid(-2) ~ 0.12), so the classifier first
    // learns from whole series before the stopping head pulls decisions earlier.
    torch::NoGradGuard guard;
    stop_->bias.fill_(-2.0);
  }
  ModelOutput forward(const torch::Tensor& x) override {
    auto h = std::get<0>(lstm_->forward(in_->forward(norm_->forward(x))));
    ModelOutput out;
    out.stepLogProbs = torch::log_softmax(classify_->forward(h), -1);
    out.stopProbs = torch::sigmoid(stop_->forward(h)).squeeze(-1);
    out.logProbs = out.stepLogProbs.select(1, -1);
    return out;
  }

 private:
  nn::LayerNorm norm_{nullptr};
  nn::Linear in_{nullptr}, classify_{nullptr}, stop_{nullptr};
  nn::LSTM lstm_{nullptr};
};

class TempCnnImpl final : public SeriesModelImpl {
 public:
  static constexpr int kFilters = 64, kDense = 256;
  explicit TempCnnImpl(const ModelSpec& s) {
    int in = s.bands;
    for (int i = 0; i < 3; ++i) {
      convs_.push_back(register_module("conv" + std::to_string(i),
                                       nn::Conv1d(nn::Conv1dOptions(in, kFilters, s.kernel).padding(s.kernel / 2))));
      norms_.push_back(register_module("bn" + std::to_string(i), nn::BatchNorm1d(kFilters)));
      in = kFilters;
    }
    drop_ = register_module("dropout", nn::Dropout(s.dropout));
    dense_ = register_module("dense", nn::Linear(kFilters * s.periods, kDense));
    denseNorm_ = register_module("dense_bn", nn::BatchNorm1d(kDense));
    head_ = register_module("head", nn::Linear(kDense, s.classes));
  }
  ModelOutput forward(const torch::Tensor& x) override {
    auto h = x.transpose(1, 2);  // [N, B, T]: convolve over time with bands as channels
    for (size_t i = 0; i < convs_.size(); ++i) h = drop_->forward(torch::relu(norms_[i]->forward(convs_[i]->forward(h))));
    h = drop_->forward(torch::relu(denseNorm_->forward(dense_->forward(h.flatten(1)))));
    ModelOutput out;
    out.logProbs = torch::log_softmax(head_->forward(h), -1);
    return out;
  }

 private:
  std::vector<nn::Conv1d> convs_;
  std::vector<nn::BatchNorm1d> norms_;
  nn::Dropout drop_{nullptr};
  nn::Linear dense_{nullptr}, head_{nullptr};
  nn::BatchNorm1d denseNorm_{nullptr};
};

struct ModelEntry {
  const char* name;
  SeriesModel (*make)(const ModelSpec&);
};

const std::vector<ModelEntry>& modelTable() {
  static const std::vector<ModelEntry> table = {
      {"lstm", [](const ModelSpec& s) -> SeriesModel { return std::make_shared<LstmImpl>(s); }},
      {"earlyrnn", [](const ModelSpec& s) -> SeriesModel { return std::make_shared<EarlyRnnImpl>(s); }},
      {"tempcnn", [](const ModelSpec& s) -> SeriesModel { return std::make_shared<TempCnnImpl>(s); }},
  };
  return table;
}

}  // namespace

bool hasFactory(const std::string& name) {
  for (const auto& e : modelTable())
    if (name == e.name) return true;
  return false;
}

SeriesModel makeModel(const ModelSpec& spec) {
  if (spec.bands <= 0 || spec.periods <= 0 || spec.classes <= 1)
    throw UsageError("model " + spec.name + ": needs bands, periods > 0 and at least two classes (got " +
                     std::to_string(spec.bands) + " bands, " + std::to_string(spec.periods) + " periods, " +
                     std::to_string(spec.classes) + " classes)");
  for (const auto& e : modelTable())
    if (spec.name == e.name) return e.make(spec);
  std::string list;
  for (const auto& n : modelNames("torch")) list += (list.empty() ? "" : "|") + n;
  throw UsageError("model '" + spec.name + "' is not a LibTorch model; expected one of " + list);
}

Prediction predict(const ModelOutput& out) {
  Prediction p;
  if (!out.stopProbs.defined()) {
    p.classes = out.logProbs.argmax(-1);
    p.stopStep = torch::full({out.logProbs.size(0)}, 0, torch::kLong);
    return p;
  }
  const auto T = out.stopProbs.size(1);
  auto stops = out.stopProbs.ge(0.5);
  stops.select(1, T - 1).fill_(true);
  // argmax returns the first maximum: the first step that says stop.
  p.stopStep = stops.to(torch::kInt).argmax(1);
  auto idx = p.stopStep.view({-1, 1, 1}).expand({-1, 1, out.stepLogProbs.size(2)});
  p.classes = out.stepLogProbs.gather(1, idx).squeeze(1).argmax(-1);
  return p;
}

torch::Tensor computeLoss(const ModelOutput& out, const torch::Tensor& y, const LossSpec& loss) {
  if (loss.kind == "ce") return torch::nll_loss(out.logProbs, y);
  if (loss.kind == "weighted_ce") return torch::nll_loss(out.logProbs, y, loss.classWeights);
  // Early reward (ELECTS): the stopping head defines a distribution over the
  // step at which the model decides: P_t = d_t * prod_{s<t} (1 - d_s), with all
  // remaining mass on the last step. Classification is rewarded under that
  // distribution, earliness by (1 - t/T) times the probability of the true class.
  const auto& d = out.stopProbs;
  const auto N = d.size(0), T = d.size(1);
  auto keep = torch::cumprod(1 - d, 1);
  auto before = torch::cat({torch::ones({N, 1}, d.options()), keep.narrow(1, 0, T - 1)}, 1);
  auto pt = torch::cat({d.narrow(1, 0, T - 1) * before.narrow(1, 0, T - 1), before.narrow(1, T - 1, 1)}, 1);
  // Additive smoothing: every step keeps some weight, so each step's classifier keeps learning.
  pt = pt + loss.epsilon / static_cast<double>(T);
  auto logpTrue = out.stepLogProbs.gather(2, y.view({-1, 1, 1}).expand({N, T, 1})).squeeze(2);  // [N, T]
  auto t = torch::arange(T, d.options()).unsqueeze(0);
  auto classification = (pt * -logpTrue).sum(1).mean();
  auto earliness = (pt * logpTrue.exp() * (1 - t / static_cast<double>(T))).sum(1).mean();
  return loss.alpha * classification - (1 - loss.alpha) * earliness;
}

// ---------------------------------------------------------------------------
// Model files

namespace {
constexpr const char* kModelFormat = "cropmap-model";

c10::IValue strings(const std::vector<std::string>& v) {
  c10::List<std::string> l;
  for (const auto& s : v) l.push_back(s);
  return l;
}
std::vector<std::string> strings(const c10::IValue& v) {
  std::vector<std::string> out;
  const auto list = v.toList();
  for (size_t i = 0; i < list.size(); ++i) out.push_back(list.get(i).toStringRef());
  return out;
}
torch::Tensor doubles(const std::vector<double>& v) {
  return torch::tensor(c10::ArrayRef<double>(v), torch::kDouble);
}
std::vector<double> doubles(const torch::Tensor& t) {
  auto c = t.to(torch::kDouble).contiguous();
  return std::vector<double>(c.data_ptr<double>(), c.data_ptr<double>() + c.numel());
}
}  // namespace

void writeModel(torch::serialize::OutputArchive& a, SeriesModelImpl& model, const ModelMeta& m) {
  a.write("format", c10::IValue(std::string(kModelFormat)));
  a.write("format_version", c10::IValue(static_cast<std::int64_t>(1)));
  a.write("spec_name", c10::IValue(m.spec.name));
  a.write("spec_dims", c10::IValue(std::vector<std::int64_t>{m.spec.bands, m.spec.periods, m.spec.classes}));
  a.write("spec_hidden", c10::IValue(std::vector<std::int64_t>(m.spec.hidden.begin(), m.spec.hidden.end())));
  a.write("spec_dropout", c10::IValue(m.spec.dropout));
  a.write("spec_kernel", c10::IValue(static_cast<std::int64_t>(m.spec.kernel)));
  a.write("band_mean", doubles(m.bandMean));
  a.write("band_std", doubles(m.bandStd));
  a.write("class_names", strings(m.classNames));
  a.write("band_names", strings(m.bandNames));
  a.write("periods", strings(m.periodStarts));
  a.write("config", c10::IValue(m.configYaml));
  a.write("epoch", c10::IValue(m.epoch));
  a.write("val_loss", c10::IValue(m.valLoss));
  torch::serialize::OutputArchive weights;
  model.save(weights);
  a.write("model", weights);
}

ModelMeta readModelMeta(torch::serialize::InputArchive& a, const std::string& file) {
  c10::IValue v;
  if (!a.try_read("format", v) || !v.isString() || v.toStringRef() != kModelFormat)
    throw UsageError(file + ": not a cropmap model file (no 'format: cropmap-model')");
  ModelMeta m;
  auto get = [&](const char* key) {
    c10::IValue x;
    if (!a.try_read(key, x)) throw UsageError(file + ": model file lacks '" + key + "'");
    return x;
  };
  m.spec.name = get("spec_name").toStringRef();
  auto dims = get("spec_dims").toIntVector();
  m.spec.bands = static_cast<int>(dims.at(0));
  m.spec.periods = static_cast<int>(dims.at(1));
  m.spec.classes = static_cast<int>(dims.at(2));
  auto hidden = get("spec_hidden").toIntVector();
  m.spec.hidden.assign(hidden.begin(), hidden.end());
  m.spec.dropout = get("spec_dropout").toDouble();
  c10::IValue kernel;
  if (a.try_read("spec_kernel", kernel)) m.spec.kernel = static_cast<int>(kernel.toInt());
  torch::Tensor t;
  a.read("band_mean", t);
  m.bandMean = doubles(t);
  a.read("band_std", t);
  m.bandStd = doubles(t);
  m.classNames = strings(get("class_names"));
  m.bandNames = strings(get("band_names"));
  m.periodStarts = strings(get("periods"));
  m.configYaml = get("config").toStringRef();
  m.epoch = get("epoch").toInt();
  m.valLoss = get("val_loss").toDouble();
  return m;
}

void saveArchive(torch::serialize::OutputArchive& archive, const std::string& path) {
  // Serialised in memory first: LibTorch's file writer cannot report a failed
  // write (a full disk) without terminating the process from a destructor.
  std::ostringstream bytes;
  archive.save_to(bytes);
  const std::string data = bytes.str();
  const std::string tmp = gdal::temporaryName(path);
  std::FILE* f = std::fopen(tmp.c_str(), "wb");
  if (!f) throw std::runtime_error("cannot create " + tmp + ": " + writeFailure(tmp, errno));
  const bool written = std::fwrite(data.data(), 1, data.size(), f) == data.size();
  const int err = errno;
  const bool closed = std::fclose(f) == 0;
  if (!written || !closed) {
    std::error_code ec;
    std::filesystem::remove(tmp, ec);
    throw std::runtime_error("cannot write " + path + ": " + writeFailure(tmp, written ? errno : err));
  }
  gdal::commitFile(tmp, path);
}

LoadedModel loadModelFile(const std::string& path) {
  if (!std::filesystem::exists(path))
    throw UsageError(path + ": model file not found; run `cropmap train` first (or pass --model)");
  torch::serialize::InputArchive a;
  try {
    a.load_from(path);
  } catch (const c10::Error& e) {
    throw UsageError(path + ": cannot read as a cropmap model file: " + e.what_without_backtrace());
  }
  LoadedModel lm;
  lm.meta = readModelMeta(a, path);
  lm.model = makeModel(lm.meta.spec);
  torch::serialize::InputArchive weights;
  a.read("model", weights);
  lm.model->load(weights);
  lm.model->eval();
  return lm;
}

// Parameters and floating-point buffers (batch-norm running statistics), in
// module order: the tensors that must agree on every rank.
std::vector<torch::Tensor> replicaState(SeriesModelImpl& m) {
  std::vector<torch::Tensor> t;
  for (auto& p : m.parameters()) t.push_back(p.data());
  for (auto& b : m.buffers())
    if (b.is_floating_point()) t.push_back(b);
  return t;
}
std::vector<torch::Tensor> floatBuffers(SeriesModelImpl& m) {
  std::vector<torch::Tensor> t;
  for (auto& b : m.buffers())
    if (b.is_floating_point()) t.push_back(b);
  return t;
}

std::unique_ptr<torch::optim::Optimizer> makeOptimizer(const TrainSection& tc, SeriesModelImpl& m) {
  if (tc.optimizer == "rmsprop")
    return std::make_unique<torch::optim::RMSprop>(m.parameters(),
                                                   torch::optim::RMSpropOptions(tc.lr).weight_decay(tc.weight_decay));
  return std::make_unique<torch::optim::AdamW>(m.parameters(),
                                               torch::optim::AdamWOptions(tc.lr).weight_decay(tc.weight_decay));
}

}  // namespace cropmap
