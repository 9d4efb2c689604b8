// `cropmap bench predict`, in two parts:
//  - engines (no cube needed): for each model architecture, the fused engine's
//    pixels/s against the plain LibTorch forward at its best batch (eval,
//    NoGradGuard: what a LibTorch or PyTorch user gets), measured in the same
//    run, with the fused engine's GFLOP/s against this core's FMA peak
//    (measured by a microbenchmark in the same run) and the class agreement
//    of the two engines on the same pixels;
//  - end to end on the run's cube (when there is one): the predict stage for
//    every architecture at 1, 2, 4 ranks. One MPI job of the largest rank
//    count measures every count on sub-communicators of its ranks, so models
//    and the cube are opened the same way in each measurement.
// Models are freshly initialised: inference cost does not depend on the
// weights, and no training run is needed to measure it.
#include <boost/program_options.hpp>
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "inference.hpp"
#include "kernels/fused_nets.hpp"
#include "pipeline/cube.hpp"
#include "pipeline/legend.hpp"
#include "pipeline/log.hpp"
#include "pipeline/mpi.hpp"
#include "pipeline/registry.hpp"
#include "predict.hpp"
#include "stages/bench/bench.hpp"
#include "stages/train/xgboost_model.hpp"
#include "pipeline/json.hpp"

namespace cropmap::mapping {

namespace fs = std::filesystem;

namespace {

struct BenchRow {
  std::string model;
  int ranks = 0;
  PredictReport r;
};

std::vector<int> parseRanks(const std::string& text) {
  std::vector<int> out;
  std::stringstream ss(text);
  std::string r;
  while (std::getline(ss, r, ',')) {
    char* end = nullptr;
    const long v = std::strtol(r.c_str(), &end, 10);
    if (r.empty() || *end || v < 1 || v > 4096) throw UsageError("--ranks: expected e.g. 1,2,4, got '" + text + "'");
    out.push_back(static_cast<int>(v));
  }
  if (out.empty()) throw UsageError("--ranks: no rank count given");
  return out;
}

bool underLauncher() {
  for (const char* v : {"OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_SIZE", "SLURM_STEP_NUM_TASKS"})
    if (std::getenv(v)) return true;
  return false;
}

std::string selfExe() {
  std::error_code ec;
  auto p = fs::read_symlink("/proc/self/exe", ec);
  return ec ? std::string("cropmap") : p.string();
}

std::string quoted(const std::string& s) {
  std::string o = "'";
  for (char c : s) o += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return o + "'";
}

int benchPredict(CommandContext& ctx, const std::vector<int>& counts);

void writeText(const std::string& path, const std::string& text) {
  {
    std::ofstream f(path + ".tmp");
    f << text;
    f.close();
    if (!f) throw std::runtime_error("cannot write " + path);
  }
  fs::rename(path + ".tmp", path);
}

using Clock = std::chrono::steady_clock;

// The LibTorch architectures to measure: all, or --model's when it is one.
std::vector<std::string> torchModels(const CommandContext& ctx) {
  if (!ctx.args.count("model")) return Classifier::architectures();
  const std::string m = ctx.args["model"].as<std::string>();
  try {
    if (modelKind(m).engine != "torch") return {};
  } catch (const std::invalid_argument& e) {
    throw UsageError(std::string("--model: ") + e.what());
  }
  return {m};
}

// Median and relative spread of `repeats` timings of at least `seconds` each.
struct Rate {
  double median = 0, spread = 0;
};
Rate medianRate(std::vector<double> rates) {
  std::sort(rates.begin(), rates.end());
  Rate out;
  out.median = rates[rates.size() / 2];
  out.spread = out.median > 0 ? (rates.back() - rates.front()) / out.median : 0;
  return out;
}

template <typename F>
Rate timeRate(F&& pass, std::int64_t pixelsPerPass, int repeats, double seconds) {
  std::vector<double> rates;
  for (int r = 0; r < repeats; ++r) {
    std::int64_t pixels = 0;
    const auto t0 = Clock::now();
    double dt = 0;
    do {
      pass();
      pixels += pixelsPerPass;
      dt = std::chrono::duration<double>(Clock::now() - t0).count();
    } while (dt < seconds);
    rates.push_back(static_cast<double>(pixels) / dt);
  }
  return medianRate(std::move(rates));
}

// XGBoost: the classifier predict uses (in-place prediction on the pixel
// buffer, argmax) against what an XGBoost user does (a DMatrix of the array,
// then predict), on the same booster and pixels, in alternating rounds. The
// booster is trained here on a synthetic 15-class problem for
// train.xgb_rounds (at most 50) rounds of depth train.xgb_depth: prediction
// cost grows with the trees, not with what they learnt.
void benchBoostedTrees(CommandContext& ctx, int periods, int bands, int classes, const std::vector<float>& x,
                       std::int64_t n) {
  const Config& cfg = ctx.config;
  const int threads = cfg.threads(), features = periods * bands;
  const int rounds = std::min(cfg.train.xgb_rounds, 50);
  std::vector<float> y(static_cast<size_t>(n));
  for (std::int64_t i = 0; i < n; ++i) {
    const float* px = x.data() + i * features;
    y[static_cast<size_t>(i)] = static_cast<float>(static_cast<int>((px[0] + px[features / 2] + px[features - 1]) * 25) % classes);
  }
  xgb::DMatrix train(x.data(), n, features, threads);
  train.setLabels(y);
  xgb::Booster booster({&train});
  for (const auto& [k, v] : std::vector<std::pair<std::string, std::string>>{
           {"objective", "multi:softprob"}, {"num_class", std::to_string(classes)}, {"tree_method", "hist"},
           {"max_depth", std::to_string(cfg.train.xgb_depth)}, {"nthread", std::to_string(threads)}, {"seed", "0"}})
    booster.setParam(k, v);
  for (int r = 0; r < rounds; ++r) booster.updateOneIter(r, train);
  const std::string dir = (fs::path(cfg.run.output) / "bench").string();
  fs::create_directories(dir);
  const std::string path = (fs::path(dir) / "bench_xgboost.ubj").string();
  xgb::BoosterMeta meta;
  meta.periods = periods;
  meta.bands = bands;
  for (int c = 0; c < classes; ++c) meta.classNames.push_back("class" + std::to_string(c));
  meta.rounds = rounds;
  booster.save(path, meta);
  auto classifier = Classifier::load(path, EngineOptions{Engine::Fused, threads, 0});
  xgb::Booster reference = xgb::Booster::load(path);
  reference.setParam("nthread", std::to_string(threads));
  fs::remove(path);

  const int batch = cfg.predict.batch_size;
  std::vector<std::int32_t> cls(static_cast<size_t>(n)), stop(cls);
  std::vector<float> prob(static_cast<size_t>(n)), work = x, refProb;
  std::vector<double> ours, theirs;
  for (int round = 0; round < 5; ++round) {
    ours.push_back(timeRate([&] { classifier->decide(work.data(), n, batch, PixelDecisions{cls.data(), prob.data(), stop.data()}); },
                            n, 1, 0.3)
                       .median);
    theirs.push_back(timeRate([&] {
                       xgb::DMatrix m(x.data(), n, features, threads);
                       reference.predict(m, refProb);
                     },
                              n, 1, 0.3)
                         .median);
  }
  const Rate a = medianRate(ours), b = medianRate(theirs);
  std::int64_t agree = 0;
  for (std::int64_t i = 0; i < n; ++i) {
    const float* p = refProb.data() + i * classes;
    agree += cls[static_cast<size_t>(i)] == static_cast<std::int32_t>(std::max_element(p, p + classes) - p);
  }
  std::printf("\nxgboost (%d rounds x %d classes, depth %d, %d thread%s): cropmap in-place %.0f px/s (spread %.1f%%), "
              "DMatrix + predict %.0f px/s (spread %.1f%%), ratio %.2fx, class agreement %.2f%%\n",
              rounds, classes, cfg.train.xgb_depth, threads, threads == 1 ? "" : "s", a.median, 100 * a.spread, b.median,
              100 * b.spread, b.median > 0 ? a.median / b.median : 0.0, 100.0 * static_cast<double>(agree) / static_cast<double>(n));
  const std::string out = (fs::path(dir) / "predict_xgboost.json").string();
  writeText(out, json::Object()
                     .field("model", "xgboost")
                     .field("threads", threads)
                     .field("rounds", rounds)
                     .field("depth", cfg.train.xgb_depth)
                     .field("pixels_per_s", a.median)
                     .field("spread", a.spread)
                     .field("dmatrix_predict_pixels_per_s", b.median)
                     .field("dmatrix_predict_spread", b.spread)
                     .field("ratio", b.median > 0 ? a.median / b.median : 0.0)
                     .field("class_agreement", static_cast<double>(agree) / static_cast<double>(n))
                     .text() + "\n");
  std::printf("written %s\n", out.c_str());
}

// The engines part: fused vs plain LibTorch forward, no cube, this process only.
void benchEngines(CommandContext& ctx) {
  const Config& cfg = ctx.config;
  const SeriesShape shape = seriesShapeOf(cfg);
  const int periods = shape.periods, bands = shape.bands, threads = cfg.threads();
  std::vector<std::string> classes;
  for (int i = 0; i < 15; ++i) classes.push_back("class" + std::to_string(i));
  std::vector<std::string> models = torchModels(ctx);
  const bool trees = !ctx.args.count("model") || modelKind(ctx.args["model"].as<std::string>()).engine == "xgboost";

  const double peak = fused::measureFmaPeak(0.3);
  std::printf("cropmap bench predict (engines): %d periods x %d bands, %zu classes, %d thread%s; fused GEMMs: %s "
              "(LibTorch: %s), element-wise "
              "%s; FMA peak %.1f GFLOP/s per core (measured); L2 %lld KiB\n",
              periods, bands, classes.size(), threads, threads == 1 ? "" : "s", fused::gemmPath().c_str(), fused::blasName().c_str(),
              fused::elementwiseIsa().c_str(), peak, static_cast<long long>(fused::l2CacheBytes() / 1024));
  std::printf("%-9s %6s %9s %12s %7s %12s %7s %7s %8s %8s %7s %8s\n", "model", "chunk", "chunk KiB", "fused px/s",
              "spread", "torch px/s", "spread", "batch", "ratio", "GFLOP/s", "%peak", "agree%");
  std::string json = "[";
  const std::int64_t n = 4096;
  std::vector<float> x(static_cast<size_t>(n) * periods * bands), work(x.size());
  std::uint32_t state = 7;
  for (auto& v : x) {
    state = state * 1664525u + 1013904223u;
    v = 0.3f * static_cast<float>(state >> 8) / static_cast<float>(1u << 24);
  }
  for (const auto& name : models) {
    auto fusedEngine = Classifier::untrained(name, periods, bands, classes, cfg.train.hidden,
                                             EngineOptions{Engine::Fused, threads, cfg.predict.fused_rows});
    auto torchEngine =
        Classifier::untrained(name, periods, bands, classes, cfg.train.hidden, EngineOptions{Engine::Torch, threads, 0});
    const ModelInfo& info = fusedEngine->info();
    std::vector<std::int32_t> cls(static_cast<size_t>(n)), stop(static_cast<size_t>(n)), refCls(cls), refStop(stop);
    std::vector<float> prob(static_cast<size_t>(n)), refProb(prob);
    // The plain forward's best batch first, then fused and plain forward in
    // alternating rounds, so load from others on a shared node hits both alike.
    double best = 0;
    int bestBatch = 0;
    for (int batch : {64, 256, 1024, 4096}) {
      const double r = Classifier::plainForwardRate(name, periods, bands, static_cast<int>(classes.size()),
                                                    cfg.train.hidden, batch, threads, 0.3);
      if (r > best) best = r, bestBatch = batch;
    }
    std::vector<double> fusedRounds, torchRounds;
    for (int round = 0; round < 5; ++round) {
      fusedRounds.push_back(
          timeRate([&] { fusedEngine->decide(x.data(), n, 0, PixelDecisions{cls.data(), prob.data(), stop.data()}); },
                   n, 1, 0.3)
              .median);
      torchRounds.push_back(Classifier::plainForwardRate(name, periods, bands, static_cast<int>(classes.size()),
                                                         cfg.train.hidden, bestBatch, threads, 0.3));
    }
    const Rate fusedRate = medianRate(fusedRounds), torchRate = medianRate(torchRounds);
    best = torchRate.median;
    work = x;
    torchEngine->decide(work.data(), n, 256, PixelDecisions{refCls.data(), refProb.data(), refStop.data()});
    std::int64_t agree = 0;
    for (std::int64_t i = 0; i < n; ++i) agree += cls[static_cast<size_t>(i)] == refCls[static_cast<size_t>(i)] &&
                                                  stop[static_cast<size_t>(i)] == refStop[static_cast<size_t>(i)];
    const double gflops = fusedRate.median * info.flopsPerPixel / 1e9;
    const double share = peak > 0 ? 100.0 * gflops / (peak * threads) : 0;
    const double agreePct = 100.0 * static_cast<double>(agree) / static_cast<double>(n);
    std::printf("%-9s %6d %9lld %12.0f %6.1f%% %12.0f %6.1f%% %7d %7.2fx %8.1f %6.1f%% %8.2f\n", name.c_str(),
                info.rows, static_cast<long long>(info.workingSetBytes / 1024), fusedRate.median,
                100.0 * fusedRate.spread, best, 100.0 * torchRate.spread, bestBatch, best > 0 ? fusedRate.median / best : 0.0, gflops, share, agreePct);
    std::fflush(stdout);
    json += (json.size() > 1 ? ",\n " : "") + json::Object()
                                                  .field("model", name)
                                                  .field("threads", threads)
                                                  .field("fused_rows", info.rows)
                                                  .field("fused_chunk_bytes", static_cast<long long>(info.workingSetBytes))
                                                  .field("fused_pixels_per_s", fusedRate.median)
                                                  .field("fused_spread", fusedRate.spread)
                                                  .field("torch_pixels_per_s", best)
                                                  .field("torch_spread", torchRate.spread)
                                                  .field("torch_best_batch", bestBatch)
                                                  .field("ratio", best > 0 ? fusedRate.median / best : 0.0)
                                                  .field("flops_per_pixel", info.flopsPerPixel)
                                                  .field("fused_gflops", gflops)
                                                  .field("fma_peak_gflops_per_core", peak)
                                                  .field("peak_share", share / 100.0)
                                                  .field("class_agreement", agreePct / 100.0)
                                                  .text();
  }
  if (trees) benchBoostedTrees(ctx, periods, bands, static_cast<int>(classes.size()), x, n);
  json += "]\n";
  const std::string dir = (fs::path(cfg.run.output) / "bench").string();
  fs::create_directories(dir);
  writeText((fs::path(dir) / "predict_engines.json").string(), json);
  std::printf("written %s\n", (fs::path(dir) / "predict_engines.json").string().c_str());
}

}  // namespace

int benchPredictOnRanks(CommandContext& ctx) {
  const std::vector<int> counts = parseRanks(ctx.args["ranks"].as<std::string>());
  const int most = *std::max_element(counts.begin(), counts.end());
  if (!underLauncher()) {
    benchEngines(ctx);
    const std::string cube = PredictPaths::fromConfig(ctx.config).cube;
    if (ctx.args.count("kernel-only")) return 0;
    if (!fs::exists(cube)) {
      std::printf("end to end: skipped, no cube at %s (run `cropmap composite` first)\n", cube.c_str());
      return 0;
    }
  }
  if (!underLauncher() && most > 1) {
    // One job of the largest count; the configuration goes along as a file.
    const fs::path dir = fs::path(ctx.config.run.output) / "bench";
    fs::create_directories(dir);
    const std::string cfgPath = (dir / "predict_bench.yaml").string();
    {
      std::ofstream out(cfgPath);
      out << ctx.config.yaml();
      if (!out) throw std::runtime_error("cannot write " + cfgPath);
    }
    std::string cmd = ctx.args["mpiexec"].as<std::string>() + " -n " + std::to_string(most) + " " +
                      quoted(selfExe()) + " bench predict --config " + quoted(cfgPath) + " --ranks " +
                      quoted(ctx.args["ranks"].as<std::string>());
    if (ctx.args.count("model")) cmd += " --model " + quoted(ctx.args["model"].as<std::string>());
    std::fflush(stdout);
    const int status = std::system(cmd.c_str());
    if (status != 0) throw std::runtime_error("`" + cmd + "` failed (status " + std::to_string(status) + ")");
    return 0;
  }
  int argc = 0;
  char** argv = nullptr;
  MpiRuntime mpi(&argc, &argv);
  ctx.mpi = &mpi;
  log::configure(mpi.rank(), log::parseLevel(ctx.config.log.level), ctx.config.log.all_ranks);
  std::vector<int> usable;
  for (int n : counts) {
    if (n <= mpi.size()) usable.push_back(n);
    else if (mpi.rank() == 0) log::warn("bench predict: ", n, " ranks asked for, but the job has ", mpi.size());
  }
  const int rc = benchPredict(ctx, usable);
  ctx.mpi = nullptr;
  return rc;
}

namespace {

int benchPredict(CommandContext& ctx, const std::vector<int>& counts) {
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
  if (!cfg.labels.legend.empty()) classes = loadLegend(cfg.labels).classNames(cfg.labels.level);
  if (classes.size() < 2)
    for (int i = 0; i < 10; ++i) classes.push_back("class" + std::to_string(i));

  // Untrained models: the LibTorch architectures (end to end, the trees cost what the engines table shows).
  std::vector<std::string> models = torchModels(ctx);
  const std::string benchDir = (fs::path(cfg.run.output) / "bench").string();

  std::vector<BenchRow> rows;
  for (const auto& name : models) {
    for (int n : counts) {
      MPI_Comm sub = MPI_COMM_NULL;
      CROPMAP_MPI(MPI_Comm_split(world, rank < n ? 0 : MPI_UNDEFINED, rank, &sub));
      if (sub != MPI_COMM_NULL) {
        auto classifier = Classifier::untrained(name, periods, bands, classes, cfg.train.hidden, engineOptions(cfg));
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
  std::string text = "[";
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
    text += (text.size() > 1 ? ",\n " : "") + json::Object()
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
  text += "]\n";
  fs::create_directories(benchDir);
  const std::string out = ctx.args.count("json") ? ctx.args["json"].as<std::string>() : (fs::path(benchDir) / "predict.json").string();
  writeText(out, text);
  std::printf("written %s\n", out.c_str());
  return 0;
}

}  // namespace

}  // namespace cropmap::mapping
