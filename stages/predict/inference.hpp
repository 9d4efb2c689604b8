// Applying a trained model to pixel time series, behind an interface free of
// LibTorch: the one translation unit that includes torch is inference.cpp, so
// the predict stage, its tests and the bench compile without it.
//
// Input is the physical series of n pixels, [n, periods, bands] floats as the
// cube gives them (stored x scale_factor + band offset). Two engines apply the
// model and take the same decisions:
//   fused  the model's weights exported once into kernels/fused_nets (batch
//          norm and the band normalisation folded in), run in chunks sized to
//          stay in L2 across the rank's threads: the default on CPUs;
//   torch  the LibTorch module under NoGradGuard in batches, normalising with
//          the model file's band statistics exactly as the sample reader does:
//          the reference implementation (and the path for GPUs).
// Per pixel the result is the class (the rule of `predict()` in
// stages/train/models.hpp, so maps agree with `cropmap evaluate`), the max
// posterior, and for earlyrnn the stopping period.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace cropmap {
struct Config;
}

namespace cropmap::mapping {

// Xgboost: the engine of an XGBoost model file, whatever predict.engine says.
enum class Engine { Fused, Torch, Xgboost };
// "fused" | "torch"; throws UsageError naming `key` otherwise.
Engine parseEngine(const std::string& text, const std::string& key = "predict.engine");

struct ModelInfo {
  std::string path;
  std::string name;  // lstm | earlyrnn | tempcnn | xgboost
  std::int64_t epoch = 0;  // epochs (xgboost: boosting rounds) of training the file holds
  int periods = 0, bands = 0;
  std::vector<std::string> classNames, bandNames, periodStarts;
  bool earlyStopping() const;  // the model table's property
  // The engine and, for fused, its chunk of pixels per thread, the bytes that
  // chunk's activations take, and the GEMM work per pixel.
  Engine engine = Engine::Torch;
  int rows = 0;
  std::int64_t workingSetBytes = 0;
  double flopsPerPixel = 0;
};

// What the classifier decides for each pixel (stop may be null).
struct PixelDecisions {
  std::int32_t* cls = nullptr;
  float* prob = nullptr;
  std::int32_t* stop = nullptr;
};

// Options of a classifier: engine, intra-op threads of this rank, and for the
// fused engine the pixels per chunk (0: the fastest of a few sizes, measured
// when the model is loaded).
struct EngineOptions {
  Engine engine = Engine::Fused;
  int threads = 1;
  int rows = 0;
};
// predict.engine, compute.threads and predict.fused_rows.
EngineOptions engineOptions(const Config& cfg);

class Classifier {
 public:
  // A LibTorch model file (.pt) or an XGBoost one (.ubj, told apart by its
  // content). Throws UsageError naming the file when it is missing or not a model file.
  static std::unique_ptr<Classifier> load(const std::string& path, const EngineOptions& options);
  // A freshly initialised model of an architecture, with identity
  // normalisation: what `cropmap bench predict` times (speed does not depend
  // on the weights).
  static std::unique_ptr<Classifier> untrained(const std::string& name, int periods, int bands,
                                               const std::vector<std::string>& classNames,
                                               const std::vector<int>& lstmHidden, const EngineOptions& options);
  // Writes a model file of an architecture with random weights, random
  // batch-norm statistics and the given band statistics: a model that
  // exercises every folding step of the fused export without training.
  static void writeRandomModel(const std::string& path, const std::string& name, int periods, int bands,
                               const std::vector<std::string>& classNames, const std::vector<double>& bandMean,
                               const std::vector<double>& bandStd, std::uint64_t seed);
  // Pixels/s of the plain LibTorch forward (eval, NoGradGuard, no decisions)
  // of a fresh model on [batch, periods, bands] inputs, timed for about
  // `seconds`: what a user of LibTorch or PyTorch gets.
  static double plainForwardRate(const std::string& name, int periods, int bands, int classes,
                                 const std::vector<int>& lstmHidden, int batch, int threads, double seconds);
  // The LibTorch architectures (lstm, earlyrnn, tempcnn): what untrained(),
  // writeRandomModel() and plainForwardRate() build.
  static std::vector<std::string> architectures();
  virtual ~Classifier() = default;

  virtual const ModelInfo& info() const = 0;
  // x: [n, periods, bands] (the torch engine overwrites it with its
  // normalised values). batchSize: pixels per LibTorch forward (torch engine).
  virtual void decide(float* x, std::int64_t n, int batchSize, const PixelDecisions& out) = 0;
  // decide() as map bytes: cls, conf (confidenceByte of the posterior) and
  // stop receive n bytes each (stop may be null; 0 for models without early
  // stopping).
  void classify(float* x, std::int64_t n, int batchSize, std::uint8_t* cls, std::uint8_t* conf, std::uint8_t* stop);

 private:
  std::vector<std::int32_t> cls_, stop_;
  std::vector<float> prob_;
};

}  // namespace cropmap::mapping
