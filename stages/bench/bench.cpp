#include "bench.hpp"

#include <boost/program_options.hpp>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <set>

#include "pipeline/json.hpp"
#include "pipeline/log.hpp"
#include "pipeline/period_axis.hpp"

#include "stages/commands.hpp"
#include "stages/predict/predict.hpp"

namespace po = boost::program_options;
namespace fs = std::filesystem;

namespace cropmap {

std::string runLine(const std::string& cmd) {
  std::string out;
  FILE* p = popen((cmd + " 2>&1").c_str(), "r");
  if (!p) throw std::runtime_error("cannot run: " + cmd);
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  const int status = pclose(p);
  if (status != 0) throw std::runtime_error("`" + cmd + "` failed (status " + std::to_string(status) + "):\n" + out);
  return out;
}

SeriesShape seriesShapeOf(const Config& config) {
  SeriesShape s;
  s.periods = PeriodAxis::fromConfig(config.composite).size();
  s.bands = static_cast<int>(config.inputs.bands.size() + config.composite.indices.size());
  return s;
}

std::string imageryLayoutOf(const Config& config) {
  if (!config.inputs.safe.empty()) return "safe";
  if (config.synth.enabled && config.synth.layout != "geotiff" && config.inputs.geotiff.empty()) return "safe";
  return "geotiff";
}

std::string selfExe() {
  std::error_code ec;
  auto p = fs::read_symlink("/proc/self/exe", ec);
  return ec ? std::string("cropmap") : p.string();
}

std::string shellQuoted(const std::string& s) {
  std::string o = "'";
  for (char c : s) o += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return o + "'";
}

// Every target as its own process (each starts MPI its own way), then the
// per-rank rates `cropmap plan` reads, in one JSON.
int benchAll(CommandContext& ctx) {
  const fs::path dir = fs::path(ctx.config.run.output) / "bench";
  fs::create_directories(dir);
  const std::string cfgPath = (dir / "all.yaml").string();
  writeTextAtomically(cfgPath, ctx.config.yaml());
  const std::string self = shellQuoted(selfExe()) + " bench ";
  const std::string common = " --config " + shellQuoted(cfgPath) + " --mpiexec " +
                             shellQuoted(ctx.args["mpiexec"].as<std::string>());
  const std::string size = std::to_string(ctx.args["size"].as<int>());
  // The layout the configuration reads (JP2 decoding costs several times GeoTIFF's), unless --layout says.
  const std::string layout =
      ctx.args["layout"].defaulted() ? imageryLayoutOf(ctx.config) : ctx.args["layout"].as<std::string>();
  auto step = [&](const std::string& what, const std::string& cmd) {
    std::printf("bench all: %s ...\n", what.c_str());
    std::fflush(stdout);
    const std::string out = runLine(cmd);
    std::fputs(out.c_str(), stdout);
  };
  step("composite at 1 and 2 ranks",
       self + "composite" + common + " --ranks 1,2 --tiles 1 --size " + size + " --layout " + layout + " --json " +
           shellQuoted((dir / "composite.json").string()));
  step("train, one rank per model", self + "train" + common + " --steps 20");
  step("predict engines, one rank per model", self + "predict" + common + " --kernel-only");

  const json::Value comp = json::parseFile((dir / "composite.json").string());
  const json::Value train = json::parseFile((dir / "train_np1.json").string());
  const json::Value pred = json::parseFile((dir / "predict_engines.json").string());
  json::Object trainRates, predictRates, efficiency;
  // The data-parallel path a run trains with (train.backend), one row per model.
  std::set<std::string> seen;
  for (const auto& r : train.array())
    if (r.stringOr("backend", "") == ctx.config.train.backend && seen.insert(r.at("model").string()).second)
      trainRates.field(r.at("model").string(), r.at("samples_per_s").number());
  // The engine predict uses by default (fused), at the threads per rank of the configuration.
  for (const auto& r : pred.array())
    predictRates.field(r.at("model").string(), r.at("fused_pixels_per_s").number());
  efficiency.field("1", 1.0);
  if (comp.has("np2_speedup")) efficiency.field("2", comp.at("np2_speedup").number() / 2.0);
  const std::string text = json::object({
      {"composite_observations_per_s", json::num(comp.at("np1_observations_per_s").number())},
      {"composite_efficiency", efficiency.text()},
      {"memcpy_bytes_per_s", json::num(comp.numberOr("memcpy_bytes_per_s", 0))},
      {"train_samples_per_s", trainRates.text()},
      {"predict_pixels_per_s", predictRates.text()},
      {"threads_per_rank", json::num(ctx.config.threads())},
  });
  const std::string out = ctx.args.count("json") ? ctx.args["json"].as<std::string>() : (dir / "all.json").string();
  writeTextAtomically(out, text + "\n");
  std::printf("\nbench all: per-rank rates for `cropmap plan --rates %s`:\n%s\n", out.c_str(), text.c_str());
  return 0;
}

const std::vector<BenchTarget>& benchTargets() {
  static const std::vector<BenchTarget> targets = {
      {"composite", "median/gap-fill kernel vs memory bandwidth; end to end at 1, 2, 4 ranks", benchComposite},
      {"train", "samples/s per model; forward/backward/allreduce/optimizer per step; allreduce vs raw MPI",
       benchTrainOnRanks},
      {"predict", "fused engine vs plain LibTorch forward per model (px/s, GFLOP/s, FMA peak); end to end at 1, 2, 4 ranks",
       benchPredictOnRanks},
      {"scaling", "a stage (--stage composite|train) at --ranks counts, strong and weak: efficiency per count",
       benchScaling},
      {"all", "every target in turn; writes the per-rank rates `cropmap plan --rates` reads", benchAll},
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
        "model", po::value<std::string>(), "train, predict, scaling: only this model")(
        "stage", po::value<std::string>(), "scaling: composite|train|all (default all)")(
        "mode", po::value<std::string>(), "scaling: strong|weak|both (default both)");
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
