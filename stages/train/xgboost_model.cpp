#include "xgboost_model.hpp"

#include <xgboost/c_api.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <stdexcept>

#include "pipeline/json.hpp"
#include "pipeline/mpi.hpp"

namespace fs = std::filesystem;

namespace cropmap::xgb {

void check(int rc, const std::string& what) {
  if (rc != 0) throw std::runtime_error(what + ": " + XGBGetLastError());
}

DMatrix::DMatrix(const float* x, std::int64_t rows, std::int64_t cols, int threads) {
  check(XGDMatrixCreateFromMat_omp(x, static_cast<bst_ulong>(rows), static_cast<bst_ulong>(cols), NAN, &h_,
                                   std::max(1, threads)),
        "XGBoost: building a matrix of " + std::to_string(rows) + " x " + std::to_string(cols));
}

DMatrix::~DMatrix() {
  if (h_) XGDMatrixFree(h_);
}

void DMatrix::setLabels(const std::vector<float>& y) {
  check(XGDMatrixSetFloatInfo(h_, "label", y.data(), static_cast<bst_ulong>(y.size())), "XGBoost: setting labels");
}

void DMatrix::setWeights(const std::vector<float>& w) {
  check(XGDMatrixSetFloatInfo(h_, "weight", w.data(), static_cast<bst_ulong>(w.size())),
        "XGBoost: setting row weights");
}

Booster::Booster(const std::vector<const DMatrix*>& cache) {
  std::vector<DMatrixHandle> hs;
  for (const auto* m : cache) hs.push_back(m->handle());
  check(XGBoosterCreate(hs.data(), static_cast<bst_ulong>(hs.size()), &h_), "XGBoost: creating a booster");
}

Booster::~Booster() {
  if (h_) XGBoosterFree(h_);
}

void Booster::setParam(const std::string& key, const std::string& value) {
  check(XGBoosterSetParam(h_, key.c_str(), value.c_str()), "XGBoost: parameter " + key + "=" + value);
}

void Booster::updateOneIter(int iter, const DMatrix& train) {
  check(XGBoosterUpdateOneIter(h_, iter, train.handle()), "XGBoost: boosting round " + std::to_string(iter + 1));
}

std::string Booster::evalOneIter(int iter, const std::vector<const DMatrix*>& sets,
                                 const std::vector<std::string>& names) {
  std::vector<DMatrixHandle> hs;
  std::vector<const char*> ns;
  for (const auto* m : sets) hs.push_back(m->handle());
  for (const auto& n : names) ns.push_back(n.c_str());
  const char* out = nullptr;
  check(XGBoosterEvalOneIter(h_, iter, hs.data(), ns.data(), static_cast<bst_ulong>(hs.size()), &out),
        "XGBoost: evaluating round " + std::to_string(iter + 1));
  return out ? out : "";
}

Booster Booster::slice(int rounds) const {
  Booster b;
  check(XGBoosterSlice(h_, 0, rounds, 1, &b.h_), "XGBoost: keeping the first " + std::to_string(rounds) + " rounds");
  b.meta_ = meta_;
  return b;
}

void Booster::predict(const DMatrix& m, std::vector<float>& out) const {
  const char* config = R"({"type": 0, "training": false, "iteration_begin": 0, "iteration_end": 0, "strict_shape": true})";
  const bst_ulong* shape = nullptr;
  bst_ulong dim = 0;
  const float* result = nullptr;
  check(XGBoosterPredictFromDMatrix(h_, m.handle(), config, &shape, &dim, &result), "XGBoost: predicting");
  size_t n = 1;
  for (bst_ulong d = 0; d < dim; ++d) n *= static_cast<size_t>(shape[d]);
  out.assign(result, result + n);
}

void Booster::predictDense(const float* x, std::int64_t rows, std::int64_t cols, std::vector<float>& out) const {
  // NumPy's __array_interface__ (version 3) of the buffer, as XGBoost's in-place prediction takes it.
  char array[256];
  std::snprintf(array, sizeof array,
                R"({"data": [%llu, true], "shape": [%lld, %lld], "typestr": "<f4", "version": 3})",
                static_cast<unsigned long long>(reinterpret_cast<std::uintptr_t>(x)), static_cast<long long>(rows),
                static_cast<long long>(cols));
  const char* config =
      R"({"type": 0, "training": false, "iteration_begin": 0, "iteration_end": 0, "strict_shape": true, "missing": NaN, "cache_id": 0})";
  const bst_ulong* shape = nullptr;
  bst_ulong dim = 0;
  const float* result = nullptr;
  check(XGBoosterPredictFromDense(h_, array, config, nullptr, &shape, &dim, &result), "XGBoost: predicting");
  size_t n = 1;
  for (bst_ulong d = 0; d < dim; ++d) n *= static_cast<size_t>(shape[d]);
  out.assign(result, result + n);
}

void Booster::save(const std::string& path, const BoosterMeta& meta) {
  json::Object o;
  o.field("format", "cropmap-xgboost")
      .field("format_version", 1)
      .field("model", meta.name)
      .field("periods", meta.periods)
      .field("bands", meta.bands)
      .raw("class_names", json::list(meta.classNames))
      .raw("band_names", json::list(meta.bandNames))
      .raw("period_starts", json::list(meta.periodStarts))
      .field("rounds", static_cast<long long>(meta.rounds))
      .field("val_loss", meta.valLoss);
  check(XGBoosterSetAttr(h_, "cropmap", o.text().c_str()), "XGBoost: setting the model's metadata");
  bst_ulong len = 0;
  const char* bytes = nullptr;
  check(XGBoosterSaveModelToBuffer(h_, R"({"format": "ubj"})", &len, &bytes), "XGBoost: serialising the model");
  writeTextAtomically(path, std::string(bytes, static_cast<size_t>(len)));
  meta_ = meta;
}

namespace {
std::vector<std::string> strings(const json::Value& v, const std::string& key) {
  std::vector<std::string> out;
  for (const auto& s : v.at(key).array()) out.push_back(s.string());
  return out;
}
}  // namespace

Booster Booster::load(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw UsageError(path + ": model file not found or not readable");
  const std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  Booster b;
  check(XGBoosterCreate(nullptr, 0, &b.h_), "XGBoost: creating a booster");
  if (bytes.empty() || bytes[0] != '{' ||
      XGBoosterLoadModelFromBuffer(b.h_, bytes.data(), static_cast<bst_ulong>(bytes.size())) != 0)
    throw UsageError(path + ": not an XGBoost model file" +
                     (bytes.empty() || bytes[0] != '{' ? std::string() : std::string(" (") + XGBGetLastError() + ")"));
  const char* attr = nullptr;
  int found = 0;
  check(XGBoosterGetAttr(b.h_, "cropmap", &attr, &found), path + ": reading the model's metadata");
  if (!found || !attr)
    throw UsageError(path + ": an XGBoost model without cropmap's metadata (attribute 'cropmap'); train it with "
                            "`cropmap train` and train.model: xgboost");
  try {
    const auto v = json::parse(attr, path + ": attribute cropmap");
    if (v.stringOr("format", "") != "cropmap-xgboost")
      throw std::runtime_error("format is not cropmap-xgboost");
    BoosterMeta& m = b.meta_;
    m.name = v.at("model").string();
    m.periods = static_cast<int>(v.at("periods").number());
    m.bands = static_cast<int>(v.at("bands").number());
    m.classNames = strings(v, "class_names");
    m.bandNames = strings(v, "band_names");
    m.periodStarts = strings(v, "period_starts");
    m.rounds = static_cast<std::int64_t>(v.at("rounds").number());
    m.valLoss = v.numberOr("val_loss", 0);
  } catch (const std::runtime_error& e) {
    throw UsageError(path + ": bad cropmap metadata in the XGBoost model: " + e.what());
  }
  if (b.meta_.periods <= 0 || b.meta_.bands <= 0 || b.meta_.classes() < 2)
    throw UsageError(path + ": the XGBoost model's metadata gives no periods, bands or classes");
  return b;
}

double evalMetric(const std::string& line, const std::string& set, const std::string& metric) {
  const std::string key = set + "-" + metric + ":";
  const auto at = line.find(key);
  if (at == std::string::npos) return NAN;
  return std::strtod(line.c_str() + at + key.size(), nullptr);
}

bool looksLikeXgboostModel(const std::string& path) {
  if (fs::path(path).extension() == ".ubj" || fs::path(path).extension() == ".json") return true;
  std::ifstream in(path, std::ios::binary);
  char c = 0;
  return in.get(c) && c == '{';
}

}  // namespace cropmap::xgb
