// Sampling, training and prediction options.
#pragma once

#include <string>
#include <vector>

#include "options.hpp"

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
  std::string model = "lstm";
  std::string backend = "mpi";
  void declare(Declarer& d) {
    d.opt("model", model, "Model architecture").oneOf({"lstm", "earlyrnn", "tempcnn"});
    d.opt("backend", backend, "Gradient allreduce: mpi (CPU), nccl (GPU) or serial (one process)")
        .oneOf({"mpi", "nccl", "serial"});
  }
};

struct PredictSection {
  int batch_size = 4096;
  void declare(Declarer& d) {
    d.opt("batch_size", batch_size, "Pixels per inference batch").range(1, 1 << 24);
  }
};

}  // namespace cropmap
