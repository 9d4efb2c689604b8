// Sampling, training and prediction options.
#pragma once

#include <string>
#include <vector>

#include "options.hpp"

namespace cropmap {

struct SampleSection {
  std::string level = "pixel";
  void declare(Declarer& d) {
    d.opt("level", level, "Sample rows per pixel or per parcel (per-period mean and median)")
        .oneOf({"pixel", "parcel"});
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
