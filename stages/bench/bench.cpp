#include "bench.hpp"

#include <boost/program_options.hpp>
#include <cstdio>
#include <iostream>

#include "pipeline/log.hpp"

#include "stages/commands.hpp"
#include "stages/predict/predict.hpp"

namespace po = boost::program_options;

namespace cropmap {

const std::vector<BenchTarget>& benchTargets() {
  static const std::vector<BenchTarget> targets = {
      {"composite", "median/gap-fill kernel vs memory bandwidth; end to end at 1, 2, 4 ranks", benchComposite},
      {"train", "samples/s per model; forward/backward/allreduce/optimizer per step; allreduce vs raw MPI",
       benchTrainOnRanks},
      {"predict", "fused engine vs plain LibTorch forward per model (px/s, GFLOP/s, FMA peak); end to end at 1, 2, 4 ranks",
       benchPredictOnRanks},
  };
  return targets;
}

Command benchCommand() {
  Command c;
  c.name = "bench";
  c.summary = "measured throughput and scaling of a stage (bench composite, ...), as a table and JSON";
  c.description = "targets:\n";
  for (const auto& t : benchTargets()) c.description += "  " + t.name + "  " + t.summary + "\n";
  // The benchmark launches its own MPI jobs (mpiexec -n 1, 2, 4): the front end does not start MPI.
  c.usesMpi = false;
  c.addOptions = [](po::options_description& o, po::positional_options_description& p) {
    o.add_options()("target", po::value<std::string>(), "what to measure (see the list above)")(
        "ranks", po::value<std::string>()->default_value("1,2,4"), "rank counts of the end-to-end runs")(
        "size", po::value<int>()->default_value(512), "tile side of the synthetic region, pixels")(
        "tiles", po::value<int>()->default_value(2), "tiles of the synthetic region")(
        "layout", po::value<std::string>()->default_value("geotiff"), "synthetic region layout: geotiff|safe")(
        "block", po::value<int>()->default_value(128), "composite: composite.block_size of the end-to-end runs")(
        "mpiexec", po::value<std::string>()->default_value("mpiexec"), "MPI launcher for the scaling runs")(
        "json", po::value<std::string>(), "where to write the JSON (default <run.output>/bench/<target>.json)")(
        "kernel-only", "composite, predict: skip the end-to-end runs")(
        "steps", po::value<int>(), "train: timed steps per model (default 30)")(
        "model", po::value<std::string>(), "train, predict: only this model");
    p.add("target", 1);
  };
  c.run = [](CommandContext& ctx) {
    if (!ctx.args.count("target")) throw UsageError("bench needs a target, e.g. `cropmap bench composite`");
    const std::string what = ctx.args["target"].as<std::string>();
    for (const auto& t : benchTargets())
      if (t.name == what) return t.run(ctx);
    std::string names;
    for (const auto& t : benchTargets()) names += (names.empty() ? "" : "|") + t.name;
    throw UsageError("unknown bench target '" + what + "' (" + names + ")");
  };
  return c;
}

}  // namespace cropmap
