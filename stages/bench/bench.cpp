#include "bench.hpp"

#include <boost/program_options.hpp>
#include <iostream>

#include "stages/predict/predict.hpp"
#include "stages/train/train.hpp"

namespace po = boost::program_options;

namespace cropmap {

namespace {

struct BenchTarget {
  const char* name;
  const char* summary;
  int (*run)(CommandContext&);
};

// Add a target with one line here (and its flags below, if it has any).
const std::vector<BenchTarget>& targets() {
  static const std::vector<BenchTarget> t = {
      {"train", "samples/s of every model; forward/backward/allreduce/optimizer ms per step; allreduce vs raw MPI",
       benchTrain},
      {"predict", "pixels/s of every model at 1, 2, 4, ... ranks of the job; read/inference/write shares",
       benchPredict},
  };
  return t;
}

}  // namespace

Command benchCommand() {
  Command c;
  c.name = "bench";
  c.summary = "measured throughput and scaling of a part of cropmap (bench <target>)";
  c.description = [] {
    std::string d =
        "Measures on the ranks it runs on; run it under mpirun -n N for N ranks (cmake/bench-train.sh runs\n"
        "1, 2 and 4 and prints the speed-ups). Results go to RUN/bench/<target>_np<N>.json.\n\ntargets:\n";
    for (const auto& t : targets()) d += "  " + std::string(t.name) + "  " + t.summary + "\n";
    return d;
  }();
  c.addOptions = [](po::options_description& o, po::positional_options_description& p) {
    o.add_options()("target", po::value<std::string>(), "what to measure (see the list of targets)")(
        "steps", po::value<int>(), "train: timed steps per model (default 30)")(
        "model", po::value<std::string>(), "train, predict: only this model");
    p.add("target", 1);
  };
  c.run = [](CommandContext& ctx) {
    if (!ctx.args.count("target")) throw UsageError("bench: name a target, e.g. cropmap bench train");
    const std::string name = ctx.args["target"].as<std::string>();
    for (const auto& t : targets())
      if (name == t.name) return t.run(ctx);
    std::string list;
    for (const auto& t : targets()) list += (list.empty() ? "" : ", ") + std::string(t.name);
    throw UsageError("bench: unknown target '" + name + "'; targets: " + list);
  };
  return c;
}

}  // namespace cropmap
