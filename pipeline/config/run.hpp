// Run-wide options: where outputs go, the seed, logging and threads per rank.
#pragma once

#include <string>

#include "options.hpp"

namespace cropmap {

struct RunSection {
  std::string name = "cropmap";
  std::string output = "out";
  std::int64_t seed = 42;
  void declare(Declarer& d) {
    d.opt("name", name, "Name of this run, used in logs and summaries");
    d.opt("output", output,
          "Output directory; every file of the run is written below it (relative to the working directory)");
    d.opt("seed", seed, "Seed for every random choice of the run (synthesis, splits, sampling, training)")
        .range(0, 4294967295.0);
  }
};

struct LogSection {
  std::string level = "info";
  bool all_ranks = false;
  double progress_interval = 5.0;
  void declare(Declarer& d) {
    d.opt("level", level, "Least severe message printed").oneOf({"debug", "info", "warn", "error"});
    d.opt("all_ranks", all_ranks,
          "Print info/debug lines from every rank, not just rank 0 (warnings and errors always print)");
    d.opt("progress_interval", progress_interval,
          "Seconds between progress lines when output is not a terminal (Slurm logs)")
        .range(0.1, 3600);
  }
};

struct ComputeSection {
  int threads = 0;
  std::string scheduler = "dynamic";
  int memory_mb = 4096;
  void declare(Declarer& d) {
    d.opt("threads", threads,
          "Threads per rank; 0 takes SLURM_CPUS_PER_TASK when set, otherwise 1")
        .range(0, 1024);
    d.opt("scheduler", scheduler,
          "How the block stages (composite, labels, split, predict) hand their tile x block units to the ranks: "
          "dynamic (the next unit to whichever rank is free, through a one-sided counter; no master) or static "
          "(longest-first by cost, fixed before the start). Results do not depend on it")
        .oneOf({"static", "dynamic"});
    d.opt("memory_mb", memory_mb,
          "Memory per rank in MB: GDAL's block cache gets a quarter, and a block stage refuses a "
          "composite.block_size whose buffers would not fit the rest (0: no limit). Set it to the node's memory "
          "divided by the ranks per node, less a margin")
        .range(0, 1 << 24);
  }
};

}  // namespace cropmap
