// Gradient-boosted trees (XGBoost, through its C API) on the flattened
// periods x bands pixel series: the baseline of `train.model: xgboost`.
//
// The model file is XGBoost's own UBJSON model (loadable by any XGBoost, e.g.
// `xgboost.Booster(model_file=...)` in Python) with one attribute, "cropmap",
// a JSON object holding what predict and evaluate need: class, band and
// period names, periods, bands, the number of rounds kept and the validation
// loss. Features are the physical values of x [n, periods, bands] row-major
// (feature p * bands + b); NaN is XGBoost's missing value, so no
// normalisation and no gap handling are needed. Every XGBoost call is
// checked; a failure throws with XGBoost's message and what was being done.
// No LibTorch here.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace cropmap::xgb {

// Throws std::runtime_error "<what>: <XGBoost's last error>" when rc != 0.
void check(int rc, const std::string& what);

// A dense float matrix with NaN as missing; optional labels and row weights.
class DMatrix {
 public:
  DMatrix(const float* x, std::int64_t rows, std::int64_t cols, int threads);
  ~DMatrix();
  DMatrix(const DMatrix&) = delete;
  DMatrix& operator=(const DMatrix&) = delete;
  void setLabels(const std::vector<float>& y);
  void setWeights(const std::vector<float>& w);
  void* handle() const { return h_; }

 private:
  void* h_ = nullptr;
};

struct BoosterMeta {
  std::string name = "xgboost";
  int periods = 0, bands = 0;
  std::vector<std::string> classNames, bandNames, periodStarts;
  std::int64_t rounds = 0;  // boosting rounds kept (the best on the validation rows)
  double valLoss = 0;       // validation mlogloss of those rounds
  int classes() const { return static_cast<int>(classNames.size()); }
};

class Booster {
 public:
  // A new booster for training on `train` (and evaluating `evals`).
  explicit Booster(const std::vector<const DMatrix*>& cache);
  // Loads a model file written by save(); throws UsageError naming the file
  // when it is missing, unreadable or not a cropmap XGBoost model.
  static Booster load(const std::string& path);
  ~Booster();
  Booster(Booster&& o) noexcept : h_(o.h_), meta_(std::move(o.meta_)) { o.h_ = nullptr; }
  Booster& operator=(Booster&&) = delete;
  Booster(const Booster&) = delete;

  void setParam(const std::string& key, const std::string& value);
  void updateOneIter(int iter, const DMatrix& train);
  // XGBoost's evaluation line ("[3]\ttrain-mlogloss:0.51\tval-mlogloss:0.62").
  std::string evalOneIter(int iter, const std::vector<const DMatrix*>& sets, const std::vector<std::string>& names);
  // The first `rounds` rounds as a new booster.
  Booster slice(int rounds) const;
  // Class probabilities [rows, classes] of the rows of `m`.
  void predict(const DMatrix& m, std::vector<float>& out) const;
  // The same for a dense row-major [rows, cols] array with NaN as missing,
  // predicted in place (no DMatrix copy of the input).
  void predictDense(const float* x, std::int64_t rows, std::int64_t cols, std::vector<float>& out) const;
  // Writes the model with `meta` to PATH through a temporary name.
  void save(const std::string& path, const BoosterMeta& meta);
  const BoosterMeta& meta() const { return meta_; }

 private:
  Booster() = default;
  void* h_ = nullptr;
  BoosterMeta meta_;
};

// The value of "<set>-mlogloss:" in an evaluation line; NaN when absent.
double evalMetric(const std::string& line, const std::string& set, const std::string& metric = "mlogloss");

// True when the file starts like a (UB)JSON XGBoost model rather than a
// LibTorch archive (a zip): how `Classifier::load` picks the engine.
bool looksLikeXgboostModel(const std::string& path);

}  // namespace cropmap::xgb
