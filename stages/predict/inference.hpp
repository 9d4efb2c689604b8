// Applying a trained model to pixel time series, behind an interface free of
// LibTorch: the one translation unit that includes torch is inference.cpp, so
// the predict stage, its tests and the bench compile without it.
//
// Input is the physical series of n pixels, [n, periods, bands] floats as the
// cube gives them (stored x scale_factor + band offset). The classifier
// normalises them with the model file's band statistics exactly as the sample
// reader does for training and evaluation, runs the model in batches under
// NoGradGuard, and returns per pixel the class (the rule of `predict()` in
// stages/train/models.hpp, so maps agree with `cropmap evaluate`), the max
// posterior as a confidence byte, and for earlyrnn the stopping period.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace cropmap::mapping {

struct ModelInfo {
  std::string path;
  std::string name;  // lstm | earlyrnn | tempcnn
  int periods = 0, bands = 0;
  std::vector<std::string> classNames, bandNames, periodStarts;
  bool earlyStopping() const;  // the model table's property
};

class Classifier {
 public:
  // Throws UsageError naming the file when it is missing or not a model file.
  // threads: intra-op threads of this rank (torch::set_num_threads).
  static std::unique_ptr<Classifier> load(const std::string& path, int threads);
  // A freshly initialised model of an architecture, with identity
  // normalisation: what `cropmap bench predict` times (speed does not depend
  // on the weights).
  static std::unique_ptr<Classifier> untrained(const std::string& name, int periods, int bands,
                                               const std::vector<std::string>& classNames,
                                               const std::vector<int>& lstmHidden, int threads);
  // The architectures a model file can hold (lstm, earlyrnn, tempcnn).
  static std::vector<std::string> architectures();
  virtual ~Classifier() = default;

  virtual const ModelInfo& info() const = 0;
  // x: [n, periods, bands], overwritten by its normalised values. cls, conf
  // and stop receive n bytes each (stop may be null; 0 for models without
  // early stopping).
  virtual void classify(float* x, std::int64_t n, int batchSize, std::uint8_t* cls, std::uint8_t* conf,
                        std::uint8_t* stop) = 0;
};

}  // namespace cropmap::mapping
