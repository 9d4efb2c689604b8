// Sampling, training and prediction options.
#pragma once

#include <string>
#include <vector>

#include "options.hpp"
#include "pipeline/registry.hpp"

namespace cropmap {

struct SampleSection {
  std::string level = "pixel";
  std::int64_t train_size = 100000;
  std::int64_t eval_size = 0;
  std::int64_t min_per_class = 500;
  double damping = 0.5;
  double percentile = 65.0;
  std::string output = "samples.h5";
  void declare(Declarer& d) {
    d.opt("level", level, "Sample rows per pixel or per parcel (per-period mean and median)")
        .oneOf({"pixel", "parcel"});
    d.opt("train_size", train_size,
          "Training rows to draw by stratified sampling with class priors (0: every labelled unit)")
        .range(0, 1e12);
    d.opt("eval_size", eval_size,
          "Validation and test rows each, drawn in proportion to the classes (0: every labelled unit)")
        .range(0, 1e12);
    d.opt("min_per_class", min_per_class, "Training rows guaranteed to every class that has that many")
        .range(0, 1e12);
    d.opt("damping", damping,
          "Imbalance damping of the frequent classes: 1 keeps the priors, 0 gives them all the percentile's share")
        .range(0, 1);
    d.opt("percentile", percentile, "Percentile of the class priors that separates frequent from rare classes")
        .range(0, 100);
    d.opt("output", output, "Sample table written below run.output");
  }
};

struct TrainSection {
  std::string model = "tempcnn";
  std::string backend = "mpi";
  std::string samples;
  std::string output = "train";
  std::vector<int> hidden{200, 125, 100};
  double dropout = 0.2;
  int kernel_size = 5;
  int batch_size = 64;
  int epochs = 20;
  std::string optimizer = "adamw";
  double lr = 1e-3;
  double weight_decay = 0.01;
  std::string schedule = "none";
  int step_epochs = 10;
  double step_gamma = 0.1;
  int patience = 5;
  std::string loss = "auto";
  int finetune_epochs = 0;
  std::string class_weights = "max_over_count";
  double weight_cap = 20.0;
  double alpha = 0.5;
  double epsilon = 10.0;
  double bucket_mb = 25.0;
  bool overlap = false;
  int xgb_rounds = 300;
  int xgb_depth = 6;
  double xgb_eta = 0.1;
  int xgb_early_rounds = 20;
  void declare(Declarer& d) {
    d.opt("model", model, "Model architecture (see the model table in pipeline/registry.cpp)").oneOf(modelNames());
    d.opt("backend", backend, "Gradient allreduce: mpi (CPU), nccl (GPU) or serial (one process)")
        .oneOf(backendNames());
    d.opt("samples", samples, "Sample table written by `cropmap sample` (empty: sample.output below run.output)");
    d.opt("output", output,
          "Directory below run.output for model.pt (xgboost: model.ubj), best.pt, checkpoint.pt, metrics.jsonl and "
          "the reports");
    d.opt("hidden", hidden, "lstm: hidden size of each stacked LSTM layer, first to last").range(1, 4096);
    d.opt("kernel_size", kernel_size, "tempcnn: taps of each temporal convolution (odd: the series keeps its length)")
        .range(1, 15);
    d.opt("dropout", dropout, "Dropout between LSTM layers (lstm, earlyrnn) and after each block (tempcnn)")
        .range(0, 0.9);
    d.opt("batch_size", batch_size, "Samples per step on each rank (the global batch is this times the ranks)")
        .range(1, 1 << 20);
    d.opt("epochs", epochs, "Epochs of the main phase (early stopping may end it sooner)").range(1, 100000);
    d.opt("optimizer", optimizer, "Optimiser").oneOf({"adamw", "rmsprop"});
    d.opt("lr", lr, "Learning rate").range(1e-8, 10);
    d.opt("weight_decay", weight_decay, "Weight decay (decoupled for adamw, L2 for rmsprop)").range(0, 10);
    d.opt("schedule", schedule,
          "Learning-rate schedule per epoch: none, cosine (to 0 at the last epoch of a phase) or step")
        .oneOf({"none", "cosine", "step"});
    d.opt("step_epochs", step_epochs, "schedule step: epochs between learning-rate drops").range(1, 100000);
    d.opt("step_gamma", step_gamma, "schedule step: factor applied at each drop").range(1e-6, 1);
    d.opt("patience", patience,
          "Stop a phase after this many epochs without a better validation loss (0: never stop early)")
        .range(0, 100000);
    d.opt("loss", loss,
          "auto (early_reward for earlyrnn, weighted_ce for xgboost, ce otherwise), ce, weighted_ce (class "
          "weights by train.class_weights from the sample file's training counts) or early_reward (earlyrnn only)")
        .oneOf({"auto", "ce", "weighted_ce", "early_reward"});
    d.opt("finetune_epochs", finetune_epochs,
          "weighted_ce: epochs of a second phase with plain cross-entropy from the best weighted model")
        .range(0, 100000);
    d.opt("class_weights", class_weights,
          "weighted_ce: rule from the training rows n_c of each class: max_over_count (n_max/n_c), sqrt "
          "(sqrt(n_max/n_c)) or inverse_frequency (sum n / (classes x n_c)); classes without rows get 0")
        .oneOf({"max_over_count", "sqrt", "inverse_frequency"});
    d.opt("weight_cap", weight_cap,
          "weighted_ce: largest class weight; higher weights are cut to it (0: no cap), so that a class with a "
          "handful of rows cannot dominate the loss")
        .range(0, 1e9);
    d.opt("alpha", alpha, "early_reward: weight of classification against earliness (1 = accuracy only)")
        .range(0, 1);
    d.opt("epsilon", epsilon,
          "early_reward: additive smoothing of the stopping-time distribution (epsilon / periods per step)")
        .range(0, 1000);
    d.opt("bucket_mb", bucket_mb,
          "Gradients are averaged in buckets of this many MB (one allreduce each) straight from one flat buffer")
        .range(0.001, 4096);
    d.opt("overlap", overlap,
          "Start each bucket's allreduce during backward, as soon as all its gradients exist (needs several "
          "buckets: set bucket_mb below the model's gradient size)");
    d.opt("xgb_rounds", xgb_rounds, "xgboost: most boosting rounds (each adds one tree per class)")
        .range(1, 100000);
    d.opt("xgb_depth", xgb_depth, "xgboost: maximum depth of each tree").range(1, 32);
    d.opt("xgb_eta", xgb_eta, "xgboost: learning rate (shrinkage of each round)").range(1e-6, 1);
    d.opt("xgb_early_rounds", xgb_early_rounds,
          "xgboost: stop after this many rounds without a lower validation mlogloss and keep the best round "
          "(0: never stop early)")
        .range(0, 100000);
  }
};

struct CvSection {
  bool enabled = false;
  std::vector<std::string> models;
  std::string baseline;
  std::vector<double> grid_lr;
  std::vector<int> grid_kernel;
  std::string select_by = "macro_f1";
  bool final_models = true;
  std::string output = "cv";
  void declare(Declarer& d) {
    d.opt("enabled", enabled,
          "`cropmap run` ends with `cropmap cv`: spatial k-fold cross-validation over split.folds (needs 2 or more)");
    d.opt("models", models, "Models cross-validated side by side (empty: train.model)").oneOf(modelNames());
    d.opt("baseline", baseline,
          "Model every other is compared with, fold by fold, in the same run (empty: none)");
    d.opt("grid_lr", grid_lr,
          "Nested selection: learning rates tried (empty: train.lr only); the configuration with the best mean "
          "over the folds is retrained on every fold's zones and scored on the untouched test zones")
        .range(1e-8, 10);
    d.opt("grid_kernel", grid_kernel, "Nested selection: tempcnn kernel sizes tried (empty: train.kernel_size only)")
        .range(1, 15);
    d.opt("select_by", select_by, "Fold-mean score that picks the configuration of the grid")
        .oneOf({"macro_f1", "overall_accuracy", "kappa"});
    d.opt("final_models", final_models,
          "Retrain each model's selected configuration on every fold's zones and score it on the test zones");
    d.opt("output", output, "Directory below run.output for every fold's model and report and cv_report.{json,txt}");
  }
};

struct PredictSection {
  std::string engine = "fused";
  int fused_rows = 0;
  int batch_size = 4096;
  std::string model;
  std::string format = "cog";
  std::string compress = "deflate";
  int quicklook_size = 512;
  bool parcels = true;
  bool allow_other_periods = false;
  void declare(Declarer& d) {
    d.opt("engine", engine,
          "How predict and evaluate apply the model on CPUs: fused (weights exported into cropmap's fused "
          "kernels, batch norm and normalisation folded in) or torch (the LibTorch module: the reference, and "
          "the path on GPUs)")
        .oneOf({"fused", "torch"});
    d.opt("fused_rows", fused_rows,
          "Pixels per chunk of the fused engine, one chunk per thread at a time (0: the fastest of 16..512, "
          "measured when the model is loaded)")
        .range(0, 1 << 16);
    d.opt("batch_size", batch_size, "Pixels per LibTorch forward (engine: torch)").range(1, 1 << 24);
    d.opt("model", model,
          "Model file to apply, LibTorch (.pt) or XGBoost (.ubj) (empty: the best model of training, "
          "<run.output>/<train.output>/model.pt, or model.ubj for train.model xgboost)");
    d.opt("format", format,
          "Map format: cog (Cloud-Optimized GeoTIFF) or gtiff (tiled GeoTIFF with nearest-neighbour overviews)")
        .oneOf({"cog", "gtiff"});
    d.opt("compress", compress, "Compression of the map files").oneOf({"deflate", "lzw", "zstd", "none"});
    d.opt("quicklook_size", quicklook_size,
          "Longer side in pixels of the PNG quick-look written next to each map (0: no quick-look)")
        .range(0, 16384);
    d.opt("allow_other_periods", allow_other_periods,
          "Apply a model trained on other period dates than the cube's (same count, e.g. a January-December "
          "model on a February-January cube); refused by default, since the phenology the model learnt is then "
          "shifted");
    d.opt("parcels", parcels,
          "Write <run.output>/parcels.gpkg: per parcel of labels.parcels the majority class, its share and "
          "the mean confidence (needs the cube's parcel layer from `cropmap labels`)");
  }
};

}  // namespace cropmap
