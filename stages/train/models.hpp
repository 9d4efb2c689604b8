// The seed models of cropmap, their losses and the model file format.
//
// Every model maps a normalised time series x [N, periods, bands] to class
// log-probabilities; earlyrnn also gives per-step class log-probabilities and
// stopping probabilities so it can decide before the season ends:
//   lstm      stacked LSTM layers with per-layer hidden sizes -> linear -> log-softmax
//   earlyrnn  LayerNorm -> linear to 64 -> 2-layer LSTM -> per-step classification
//             head and stopping head (ELECTS, Rußwurm et al.), trained with the
//             early-reward loss
//   tempcnn   three 1-D convolutions over time with batch norm, ReLU and dropout,
//             a dense layer, log-softmax (TempCNN, Pelletier et al.)
// This header includes LibTorch: include it only from the training TUs.
#pragma once

#include <torch/torch.h>

#include <memory>
#include <string>
#include <vector>

#include "pipeline/config.hpp"

namespace cropmap {

struct ModelSpec {
  std::string name = "lstm";
  int bands = 0, periods = 0, classes = 0;
  std::vector<int> hidden{200, 125, 100};  // lstm
  double dropout = 0.2;
  int kernel = 5;  // tempcnn: taps of each temporal convolution
};

struct ModelOutput {
  torch::Tensor logProbs;      // [N, K]: at the last step (lstm, tempcnn: the only output)
  torch::Tensor stepLogProbs;  // earlyrnn: [N, T, K]
  torch::Tensor stopProbs;     // earlyrnn: [N, T]
};

class SeriesModelImpl : public torch::nn::Module {
 public:
  virtual ModelOutput forward(const torch::Tensor& x) = 0;
};
using SeriesModel = std::shared_ptr<SeriesModelImpl>;

// Throws UsageError for an unknown name.
SeriesModel makeModel(const ModelSpec& spec);
// True when makeModel builds `name` (every LibTorch entry of the model table in pipeline/registry).
bool hasFactory(const std::string& name);

struct Prediction {
  torch::Tensor classes;  // [N] int64
  torch::Tensor stopStep;  // [N] int64: earlyrnn's stopping step, T-1 for the others
};
// earlyrnn stops at the first step whose stopping probability reaches 0.5 (the
// last step otherwise) and predicts the class of that step: a deterministic
// rule, so evaluation is reproducible.
Prediction predict(const ModelOutput& out);

struct LossSpec {
  std::string kind = "ce";    // ce | weighted_ce | early_reward
  torch::Tensor classWeights;  // weighted_ce: [K]
  double alpha = 0.5, epsilon = 10.0;
};
// Mean loss over the batch.
torch::Tensor computeLoss(const ModelOutput& out, const torch::Tensor& y, const LossSpec& loss);

// What a model file holds besides the weights: enough to rebuild the model and
// to apply it to new data (normalisation, class names, periods).
struct ModelMeta {
  ModelSpec spec;
  std::vector<double> bandMean, bandStd;
  std::vector<std::string> classNames, bandNames, periodStarts;
  std::string configYaml;
  std::int64_t epoch = 0;  // epochs completed when written
  double valLoss = 0;
};

void writeModel(torch::serialize::OutputArchive& archive, SeriesModelImpl& model, const ModelMeta& meta);
ModelMeta readModelMeta(torch::serialize::InputArchive& archive, const std::string& file);
// Writes to PATH.tmp and renames, so a reader never sees half a file.
void saveArchive(torch::serialize::OutputArchive& archive, const std::string& path);

struct LoadedModel {
  ModelMeta meta;
  SeriesModel model;
};
// Throws UsageError naming the file when it is missing or not a cropmap model.
LoadedModel loadModelFile(const std::string& path);

// What the trainer and `cropmap bench train` share.
// Parameters and floating-point buffers (batch-norm running statistics), in
// module order: the tensors that must agree on every rank.
std::vector<torch::Tensor> replicaState(SeriesModelImpl& m);
std::vector<torch::Tensor> floatBuffers(SeriesModelImpl& m);
// train.optimizer over the model's parameters with train.lr and train.weight_decay.
std::unique_ptr<torch::optim::Optimizer> makeOptimizer(const TrainSection& tc, SeriesModelImpl& m);

}  // namespace cropmap
