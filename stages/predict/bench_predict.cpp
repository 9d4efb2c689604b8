// `cropmap bench predict`: the predict stage timed end to end on the run's
// cube, for every model architecture at 1, 2, 4, ... ranks of the job (ranks
// are taken from the job's communicator, so one `mpirun -n 4` measures all
// counts). Models are freshly initialised: inference cost does not depend on
// the weights, and no training run is needed to measure it.
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "inference.hpp"
#include "pipeline/cube.hpp"
#include "pipeline/legend.hpp"
#include "pipeline/log.hpp"
#include "pipeline/mpi.hpp"
#include "predict.hpp"
#include "stages/train/json_out.hpp"

namespace cropmap::mapping {

namespace fs = std::filesystem;

namespace {

struct BenchRow {
  std::string model;
  int ranks = 0;
  PredictReport r;
};

std::vector<int> rankCounts(int world) {
  std::vector<int> out;
  for (int n = 1; n <= world; n *= 2) out.push_back(n);
  if (out.back() != world) out.push_back(world);
  return out;
}

}  // namespace

int benchPredict(CommandContext& ctx) {
  const Config& cfg = ctx.config;
  MPI_Comm world = ctx.comm();
  const int rank = ctx.rank();
  const PredictPaths base = PredictPaths::fromConfig(cfg);
  if (!fs::exists(base.cube))
    throw UsageError(base.cube + ": no cube to predict on; run `cropmap composite` (and `cropmap synth`) first");

  int periods = 0, bands = 0;
  {
    Cube cube = Cube::open(base.cube, world, false);
    periods = cube.periods();
    bands = cube.bands();
  }
  std::vector<std::string> classes;
  if (!cfg.labels.legend.empty()) classes = Legend::load(cfg.labels.legend).classNames(cfg.labels.level);
  if (classes.size() < 2)
    for (int i = 0; i < 10; ++i) classes.push_back("class" + std::to_string(i));

  std::vector<std::string> models = Classifier::architectures();
  if (ctx.args.count("model")) models = {ctx.args["model"].as<std::string>()};
  const std::string benchDir = (fs::path(cfg.run.output) / "bench").string();

  std::vector<BenchRow> rows;
  for (const auto& name : models) {
    for (int n : rankCounts(ctx.size())) {
      MPI_Comm sub = MPI_COMM_NULL;
      CROPMAP_MPI(MPI_Comm_split(world, rank < n ? 0 : MPI_UNDEFINED, rank, &sub));
      if (sub != MPI_COMM_NULL) {
        auto classifier = Classifier::untrained(name, periods, bands, classes, cfg.train.hidden, cfg.threads());
        PredictPaths paths = base;
        paths.output = (fs::path(benchDir) / ("predict_" + name + "_np" + std::to_string(n))).string();
        PredictOptions options;
        options.parcels = false;
        options.quicklooks = false;
        options.summary = false;
        PredictReport r = runPredict(cfg, paths, options, sub, classifier.get());
        if (rank == 0) {
          rows.push_back(BenchRow{name, n, r});
          fs::remove_all(paths.output);
        }
        CROPMAP_MPI(MPI_Comm_free(&sub));
      }
      CROPMAP_MPI(MPI_Barrier(world));
    }
  }
  if (rank != 0) return 0;

  std::printf("cropmap bench predict: %s, %d periods x %d bands, %d threads per rank\n", base.cube.c_str(), periods,
              bands, cfg.threads());
  std::printf("%-9s %5s %10s %8s %11s %8s %6s %6s %6s %9s\n", "model", "ranks", "pixels", "wall s", "pixels/s",
              "speedup", "read%", "infer%", "write%", "imbalance");
  std::string json = "[";
  double base1 = 0;
  for (const auto& row : rows) {
    const auto& r = row.r;
    const double rate = r.wall > 0 ? static_cast<double>(r.pixels) / r.wall : 0;
    if (row.ranks == 1) base1 = rate;
    const double busy = r.read + r.infer + r.write + r.other;
    auto pct = [&](double v) { return busy > 0 ? 100.0 * v / busy : 0.0; };
    std::printf("%-9s %5d %10lld %8.2f %11.0f %8.2f %6.1f %6.1f %6.1f %9.2f\n", row.model.c_str(), row.ranks,
                static_cast<long long>(r.pixels), r.wall, rate, base1 > 0 ? rate / base1 : 0.0, pct(r.read),
                pct(r.infer), pct(r.write), r.imbalance);
    json += (json.size() > 1 ? ",\n " : "") + json::Object()
                                                   .field("model", row.model)
                                                   .field("ranks", row.ranks)
                                                   .field("threads", cfg.threads())
                                                   .field("pixels", static_cast<long long>(r.pixels))
                                                   .field("wall_s", r.wall)
                                                   .field("pixels_per_s", rate)
                                                   .field("speedup", base1 > 0 ? rate / base1 : 0.0)
                                                   .field("read_share", busy > 0 ? r.read / busy : 0.0)
                                                   .field("inference_share", busy > 0 ? r.infer / busy : 0.0)
                                                   .field("write_share", busy > 0 ? r.write / busy : 0.0)
                                                   .field("imbalance", r.imbalance)
                                                   .text();
  }
  json += "]\n";
  fs::create_directories(benchDir);
  const std::string out = (fs::path(benchDir) / ("predict_np" + std::to_string(ctx.size()) + ".json")).string();
  {
    std::ofstream f(out + ".tmp");
    f << json;
    f.close();
    if (!f) throw std::runtime_error("cannot write " + out);
  }
  fs::rename(out + ".tmp", out);
  std::printf("written %s\n", out.c_str());
  return 0;
}

}  // namespace cropmap::mapping
