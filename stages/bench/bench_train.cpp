// `cropmap bench train`: samples/s of every model on the communicator it runs
// on (run under mpirun -n N; cmake/bench-train.sh runs 1, 2 and 4 ranks), the
// phases of a step, and the gradient allreduce against one raw MPI_Allreduce
// of the same bytes measured in the same run.
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <map>
#include <sstream>

#include "bench.hpp"
#include "pipeline/comm/allreduce.hpp"
#include "pipeline/comm/gradient_reducer.hpp"
#include "pipeline/json.hpp"
#include "pipeline/log.hpp"
#include "stages/train/models.hpp"

namespace fs = std::filesystem;

namespace cropmap {

namespace {

using Clock = std::chrono::steady_clock;
double seconds(Clock::time_point a, Clock::time_point b) { return std::chrono::duration<double>(b - a).count(); }

struct BenchRow {
  std::string model, backend;
  bool overlap = false;
  int ranks = 1, threads = 1, batch = 0, buckets = 0, early = 0;
  std::int64_t steps = 0;
  double samplesPerS = 0, forward = 0, backward = 0, wait = 0, allreduce = 0, optimizer = 0;
  std::size_t bytes = 0;
  double allreduceGBs = 0, rawGBs = 0;
};

// One model of the benchmark (the configuration's periods x bands, 15 classes, train.* sizes)
// with its optimiser, loss and a random batch of train.batch_size, in train mode.
struct Workload {
  Workload(const CommandContext& ctx, const std::string& name) {
    const auto& tc = ctx.config.train;
    ModelSpec spec;
    spec.name = name;
    const SeriesShape shape = seriesShapeOf(ctx.config);
    spec.bands = shape.bands;
    spec.periods = shape.periods;
    spec.classes = 15;
    spec.hidden = tc.hidden;
    spec.dropout = tc.dropout;
    torch::manual_seed(static_cast<std::uint64_t>(ctx.config.run.seed));
    model = makeModel(spec);
    opt = makeOptimizer(tc, *model);
    loss.kind = modelKind(name).defaultLoss;
    x = torch::randn({tc.batch_size, spec.periods, spec.bands});
    y = torch::randint(spec.classes, {tc.batch_size}, torch::kLong);
    model->train();
  }
  SeriesModel model;
  std::unique_ptr<torch::optim::Optimizer> opt;
  LossSpec loss;
  torch::Tensor x, y;
};

double maxOver(double v, MPI_Comm comm) { return Comm(comm).max(v, "bench train: timings"); }

BenchRow benchModel(CommandContext& ctx, const std::string& name, const std::string& backendName, bool overlap,
                    double bucketMb, int steps) {
  const auto& tc = ctx.config.train;
  MPI_Comm comm = ctx.comm();
  Workload w(ctx, name);
  auto& model = w.model;
  auto& opt = w.opt;
  auto backend = makeAllreduceBackend(backendName, AllreduceOptions{comm, bucketMb, overlap});
  {
    torch::NoGradGuard g;
    backend->broadcast(replicaState(*model), 0);
  }
  GradientReducer reducer(model->parameters(), floatBuffers(*model), *backend);
  const LossSpec& loss = w.loss;
  const int batch = tc.batch_size;
  const auto& x = w.x;
  const auto& y = w.y;
  double tf = 0, tb = 0, tw = 0, ta = 0, to = 0;
  int early = 0;
  const int warmup = 3;
  CROPMAP_MPI(MPI_Barrier(comm));
  Clock::time_point start;
  for (int s = 0; s < warmup + steps; ++s) {
    if (s == warmup) {
      CROPMAP_MPI(MPI_Barrier(comm));
      tf = tb = tw = ta = to = 0;
      early = 0;
      start = Clock::now();
    }
    const auto a = Clock::now();
    reducer.zeroGrad();
    auto out = model->forward(x);
    auto l = computeLoss(out, y, loss);
    const auto b = Clock::now();
    reducer.scaleLoss(l).backward();  // with overlap, buckets already start here
    const auto c0 = Clock::now();
    // Waiting for the slowest rank is load imbalance, not communication: timed
    // apart. With overlap the barrier also drives the buckets already started.
    CROPMAP_MPI(MPI_Barrier(comm));
    const auto c = Clock::now();
    reducer.reduce();
    early += reducer.bucketsStartedEarly();
    const auto d = Clock::now();
    opt->step();
    const auto e = Clock::now();
    tf += seconds(a, b);
    tb += seconds(b, c0);
    tw += seconds(c0, c);
    ta += seconds(c, d);
    to += seconds(d, e);
  }
  const double total = maxOver(seconds(start, Clock::now()), comm);
  BenchRow r;
  r.model = name;
  r.backend = backendName;
  r.overlap = overlap;
  r.ranks = ctx.size();
  r.threads = ctx.config.threads();
  r.batch = batch;
  r.steps = steps;
  r.buckets = reducer.buckets();
  r.early = steps > 0 ? early / steps : 0;
  r.samplesPerS = static_cast<double>(steps) * batch * ctx.size() / total;
  r.forward = maxOver(tf, comm) / steps * 1e3;
  r.backward = maxOver(tb, comm) / steps * 1e3;
  r.wait = maxOver(tw, comm) / steps * 1e3;
  r.allreduce = maxOver(ta, comm) / steps * 1e3;
  r.optimizer = maxOver(to, comm) / steps * 1e3;
  r.bytes = reducer.bytes();

  // The same bytes through one raw MPI_Allreduce, in the same run: the bar the
  // reducer's reduce() of a training step (buckets, buffer copies, with the
  // gradients pre-scaled through the loss) is measured against. Raw and reducer
  // calls alternate after a barrier each, and the fastest of each is kept, so
  // that load from other processes on the node hits both alike.
  if (ctx.size() > 1 && r.bytes > 0) {
    std::vector<float> buf(r.bytes / sizeof(float), 1.0f);
    double raw = 1e30, ours = 1e30;
    for (int i = 0; i < 30; ++i) {
      CROPMAP_MPI(MPI_Barrier(comm));
      auto t0 = Clock::now();
      CROPMAP_MPI(MPI_Allreduce(MPI_IN_PLACE, buf.data(), static_cast<int>(buf.size()), MPI_FLOAT, MPI_SUM, comm));
      raw = std::min(raw, seconds(t0, Clock::now()));
      reducer.zeroGrad();
      reducer.scaleLoss(torch::zeros({}));  // a step whose loss was scaled, as in training
      CROPMAP_MPI(MPI_Barrier(comm));
      t0 = Clock::now();
      reducer.reduce();
      ours = std::min(ours, seconds(t0, Clock::now()));
    }
    raw = maxOver(raw, comm);
    ours = maxOver(ours, comm);
    r.rawGBs = static_cast<double>(r.bytes) / raw / 1e9;
    r.allreduceGBs = static_cast<double>(r.bytes) / ours / 1e9;
  }
  return r;
}

// What a PyTorch user gets: the same model, loss, optimiser and batch in a
// plain loop on one process (zero_grad, forward, loss, backward, step; no
// gradient buffers, no communication). Every rank runs it at once, so that it
// meets the same load as cropmap's per-rank figure. Samples/s of this rank.
double plainLoopRate(CommandContext& ctx, const std::string& name, int steps) {
  Workload w(ctx, name);
  const int warmup = 3;
  CROPMAP_MPI(MPI_Barrier(ctx.comm()));
  Clock::time_point start;
  for (int s = 0; s < warmup + steps; ++s) {
    if (s == warmup) start = Clock::now();
    w.opt->zero_grad();
    auto l = computeLoss(w.model->forward(w.x), w.y, w.loss);
    l.backward();
    w.opt->step();
  }
  return static_cast<double>(steps) * ctx.config.train.batch_size / seconds(start, Clock::now());
}

}  // namespace

int benchTrain(CommandContext& ctx) {
  torch::set_num_threads(ctx.config.threads());
  const int steps = ctx.args.count("steps") ? ctx.args["steps"].as<int>() : 30;
  std::vector<std::string> models = modelNames("torch");
  if (ctx.args.count("model")) models = {ctx.args["model"].as<std::string>()};
  std::vector<BenchRow> rows;
  const auto& tc = ctx.config.train;
  const std::string backend = tc.backend == "serial" ? "mpi" : tc.backend;
  // Overlap needs several buckets to have anything to overlap: the seed models
  // hold 0.1-2 MB of gradients, so its row uses buckets of at most 0.25 MB.
  const double overlapBucketMb = std::min(tc.bucket_mb, 0.25);
  std::map<std::string, double> plain;  // model -> plain-loop samples/s per rank (mean over ranks)
  for (const auto& m : models) {
    plain[m] = Comm(ctx.comm()).sum(plainLoopRate(ctx, m, steps), "bench train: plain loop") / ctx.size();
    if (ctx.size() == 1) rows.push_back(benchModel(ctx, m, "serial", false, tc.bucket_mb, steps));
    rows.push_back(benchModel(ctx, m, backend, false, tc.bucket_mb, steps));
    if (ctx.size() > 1) rows.push_back(benchModel(ctx, m, backend, true, overlapBucketMb, steps));
  }
  if (ctx.rank() != 0) return 0;

  const fs::path dir = fs::path(ctx.config.run.output) / "bench";
  fs::create_directories(dir);
  std::ostringstream js;
  js << "[\n";
  for (size_t i = 0; i < rows.size(); ++i) {
    const auto& r = rows[i];
    json::Object o;
    o.field("model", r.model).field("backend", r.backend).field("overlap", r.overlap).field("buckets", r.buckets)
        .field("buckets_started_in_backward", r.early).field("ranks", r.ranks).field("threads", r.threads)
        .field("batch_per_rank", r.batch).field("steps", static_cast<long long>(r.steps))
        .field("samples_per_s", r.samplesPerS).field("forward_ms", r.forward).field("backward_ms", r.backward)
        .field("wait_ms", r.wait).field("allreduce_ms", r.allreduce).field("optimizer_ms", r.optimizer)
        .field("allreduce_bytes", static_cast<long long>(r.bytes)).field("allreduce_gb_s", r.allreduceGBs)
        .field("raw_mpi_allreduce_gb_s", r.rawGBs).field("plain_libtorch_samples_per_s_per_rank", plain[r.model])
        .field("per_rank_vs_plain", r.samplesPerS / r.ranks / plain[r.model]);
    js << "  " << o.text() << (i + 1 < rows.size() ? ",\n" : "\n");
  }
  js << "]\n";
  const fs::path file = dir / ("train_np" + std::to_string(ctx.size()) + ".json");
  writeTextAtomically(file.string(), js.str());

  std::printf("cropmap bench train: %d rank(s) x %d thread(s), batch %d per rank, %d timed steps\n", ctx.size(),
              ctx.config.threads(), ctx.config.train.batch_size, steps);
  std::printf("%-9s %-11s %5s %7s %11s %8s %8s %8s %9s %8s %10s %10s %6s\n", "model", "backend", "ranks", "buckets",
              "samples/s", "fwd ms", "bwd ms", "wait ms", "allred ms", "opt ms", "ar GB/s", "raw GB/s", "ar %");
  auto label = [](const BenchRow& r) { return r.backend + (r.overlap ? "+overlap" : ""); };
  for (const auto& r : rows) {
    const std::string buckets =
        r.overlap ? std::to_string(r.early) + "/" + std::to_string(r.buckets) : std::to_string(r.buckets);
    std::printf("%-9s %-11s %5d %7s %11.0f %8.2f %8.2f %8.2f %9.3f %8.2f", r.model.c_str(), label(r).c_str(), r.ranks,
                buckets.c_str(), r.samplesPerS, r.forward, r.backward, r.wait, r.allreduce, r.optimizer);
    if (r.rawGBs > 0)
      std::printf(" %10.3f %10.3f %5.0f%%\n", r.allreduceGBs, r.rawGBs, 100.0 * r.allreduceGBs / r.rawGBs);
    else
      std::printf(" %10s %10s %6s\n", "-", "-", "-");
  }
  std::printf("buckets: gradient buckets per step (with overlap: started during backward / all); allred ms: the\n"
              "reduction left after backward; ar GB/s: a step's whole reduction started after backward vs raw MPI_Allreduce\n");
  // Per rank against a plain LibTorch loop of the same model and batch, run on every rank in the same run.
  std::printf("\n%-9s %-11s %16s %17s %7s\n", "model", "backend", "per rank/s", "plain loop/s", "ratio");
  for (const auto& r : rows)
    std::printf("%-9s %-11s %16.0f %17.0f %6.2fx\n", r.model.c_str(), label(r).c_str(), r.samplesPerS / r.ranks,
                plain[r.model], r.samplesPerS / r.ranks / plain[r.model]);
  std::printf("plain loop: the same model, loss, optimiser and batch in zero_grad/forward/backward/step on each rank\n"
              "(what a PyTorch user writes), samples/s per rank; ratio: cropmap's per-rank rate over it\n");
  // Scaling against the one-rank figures, when an earlier run left them.
  const fs::path one = dir / "train_np1.json";
  if (ctx.size() > 1 && fs::exists(one)) {
    const json::Value baseline = json::parseFile(one.string());
    for (const auto& r : rows)
      for (const auto& b : baseline.array()) {
        // The serial row of this model: the one-rank baseline without data parallelism.
        if (b.stringOr("model", "") != r.model || b.stringOr("backend", "") != "serial") continue;
        std::printf("%-9s %-11s speed-up at %d ranks over one serial rank: %.2fx\n", r.model.c_str(),
                    label(r).c_str(), r.ranks, r.samplesPerS / b.at("samples_per_s").number());
      }
  }
  std::printf("written %s\n", file.string().c_str());
  return 0;
}

int benchTrainOnRanks(CommandContext& ctx) {
  // Targets that measure the communicator they run on start MPI themselves:
  // the command as a whole must not, because other targets launch mpiexec.
  int argc = 0;
  char** argv = nullptr;
  MpiRuntime mpi(&argc, &argv);
  ctx.mpi = &mpi;
  log::configure(mpi.rank(), log::parseLevel(ctx.config.log.level), ctx.config.log.all_ranks);
  const int rc = benchTrain(ctx);
  ctx.mpi = nullptr;
  return rc;
}

}  // namespace cropmap
