// `cropmap train`: data-parallel training with an AllreduceBackend, per-epoch
// validation, early stopping, atomic checkpoints and exact resume.
#include <ATen/CPUGeneratorImpl.h>

#include <boost/program_options.hpp>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <sstream>

#include "pipeline/json.hpp"
#include "kernels/metrics.hpp"
#include "models.hpp"
#include "pipeline/comm/allreduce.hpp"
#include "pipeline/comm/gradient_reducer.hpp"
#include "pipeline/log.hpp"
#include "pipeline/progress.hpp"
#include "samples_io.hpp"
#include "train.hpp"

namespace po = boost::program_options;
namespace fs = std::filesystem;

namespace cropmap {

std::string trainOutputDir(const Config& c) { return (fs::path(c.run.output) / c.train.output).string(); }
std::string samplesPath(const Config& c) {
  return c.train.samples.empty() ? (fs::path(c.run.output) / c.sample.output).string() : c.train.samples;
}

namespace {

using Clock = std::chrono::steady_clock;
double seconds(Clock::time_point a, Clock::time_point b) { return std::chrono::duration<double>(b - a).count(); }

torch::Tensor xTensor(SampleRows& rows) {
  return torch::from_blob(rows.x.data(), {rows.n, rows.periods, rows.bands}, torch::kFloat).clone();
}
torch::Tensor yTensor(const SampleRows& rows) {
  return torch::from_blob(const_cast<std::int32_t*>(rows.y.data()), {rows.n}, torch::kInt).to(torch::kLong);
}

void allreduceSum(std::vector<double>& v, MPI_Comm comm) {
  CROPMAP_MPI(MPI_Allreduce(MPI_IN_PLACE, v.data(), static_cast<int>(v.size()), MPI_DOUBLE, MPI_SUM, comm));
}
void allreduceSum(std::vector<std::int64_t>& v, MPI_Comm comm) {
  CROPMAP_MPI(MPI_Allreduce(MPI_IN_PLACE, v.data(), static_cast<int>(v.size()), MPI_INT64_T, MPI_SUM, comm));
}

// Parameters and floating-point buffers (batch-norm running statistics), in
// module order: the tensors that must agree on every rank.
std::vector<torch::Tensor> replicaState(SeriesModelImpl& m) {
  std::vector<torch::Tensor> t;
  for (auto& p : m.parameters()) t.push_back(p.data());
  for (auto& b : m.buffers())
    if (b.is_floating_point()) t.push_back(b);
  return t;
}
std::vector<torch::Tensor> floatBuffers(SeriesModelImpl& m) {
  std::vector<torch::Tensor> t;
  for (auto& b : m.buffers())
    if (b.is_floating_point()) t.push_back(b);
  return t;
}

std::unique_ptr<torch::optim::Optimizer> makeOptimizer(const TrainSection& tc, SeriesModelImpl& m) {
  if (tc.optimizer == "rmsprop")
    return std::make_unique<torch::optim::RMSprop>(m.parameters(),
                                                   torch::optim::RMSpropOptions(tc.lr).weight_decay(tc.weight_decay));
  return std::make_unique<torch::optim::AdamW>(m.parameters(),
                                               torch::optim::AdamWOptions(tc.lr).weight_decay(tc.weight_decay));
}

double scheduledLr(const TrainSection& tc, int epochInPhase, int phaseEpochs) {
  if (tc.schedule == "cosine")
    return 0.5 * tc.lr * (1 + std::cos(M_PI * epochInPhase / std::max(1, phaseEpochs)));
  if (tc.schedule == "step") return tc.lr * std::pow(tc.step_gamma, epochInPhase / tc.step_epochs);
  return tc.lr;
}

// Where a run stands between epochs: everything resume needs besides weights
// and optimiser state.
struct TrainState {
  std::int64_t epoch = 0;  // epochs completed over all phases
  std::int64_t phase = 0;  // 0 main, 1 fine-tuning with plain cross-entropy
  std::int64_t epochInPhase = 0;
  double bestVal = std::numeric_limits<double>::infinity();
  std::int64_t bestEpoch = -1;
  std::int64_t sinceBest = 0;
  bool done = false;
};

struct Evaluation {
  double loss = 0;
  ConfusionMatrix cm;
};

class Trainer {
 public:
  explicit Trainer(CommandContext& ctx) : ctx_(ctx), tc_(ctx.config.train), comm_(ctx.comm()) {}

  int run() {
    const int rank = ctx_.rank(), size = ctx_.size();
    torch::set_num_threads(ctx_.config.threads());
    outDir_ = trainOutputDir(ctx_.config);
    if (rank == 0) fs::create_directories(outDir_);
    CROPMAP_MPI(MPI_Barrier(comm_));

    backend_ = makeAllreduceBackend(tc_.backend, AllreduceOptions{comm_, tc_.bucket_mb, tc_.overlap});
    reader_ = std::make_unique<SampleReader>(samplesPath(ctx_.config), comm_);
    const auto& info = reader_->info();
    for (const char* split : {"train", "val"})
      if (!reader_->hasSplit(split))
        throw UsageError(info.path + ": /" + split + ": split missing; training needs train and val splits");
    nTrain_ = reader_->rows("train");
    if (reader_->rows("val") == 0)
      throw UsageError(info.path + ": /val has no rows; validation drives early stopping and model selection: "
                                   "give the split validation zones (split.val_fraction, split.ratios)");
    if (shardLength(nTrain_, size) == 0)
      throw UsageError(info.path + ": /train has " + std::to_string(nTrain_) + " rows, fewer than the " +
                       std::to_string(size) + " ranks");

    meta_.spec.name = tc_.model;
    meta_.spec.bands = info.bands;
    meta_.spec.periods = info.periods;
    meta_.spec.classes = info.classes();
    meta_.spec.hidden = tc_.hidden;
    meta_.spec.dropout = tc_.dropout;
    meta_.bandMean = info.bandMean;
    meta_.bandStd = info.bandStd;
    meta_.classNames = info.classNames;
    meta_.bandNames = info.bandNames;
    meta_.periodStarts = info.periodStarts;
    meta_.configYaml = ctx_.config.yaml();

    torch::manual_seed(static_cast<std::uint64_t>(ctx_.config.run.seed));
    model_ = makeModel(meta_.spec);
    optimizer_ = makeOptimizer(tc_, *model_);
    lossKind_ = tc_.loss == "auto" ? (tc_.model == "earlyrnn" ? "early_reward" : "ce") : tc_.loss;
    classWeights_ = torch::tensor(c10::ArrayRef<double>(info.classWeights), torch::kDouble).to(torch::kFloat);

    const std::string ckpt = (fs::path(outDir_) / "checkpoint.pt").string();
    if (ctx_.resume && fs::exists(ckpt)) {
      restore(ckpt);
      log::info("train: resuming ", ckpt, " after epoch ", state_.epoch);
    } else {
      if (ctx_.resume) log::warn("train: --resume given but ", ckpt, " does not exist; starting from scratch");
      // Dropout draws differ per rank (each rank sees different samples anyway).
      torch::manual_seed(static_cast<std::uint64_t>(ctx_.config.run.seed) + 1000003ull * (rank + 1));
      if (rank == 0) std::ofstream(fs::path(outDir_) / "metrics.jsonl", std::ios::trunc);
    }
    // The replicas start from rank 0's weights, whatever each rank initialised.
    {
      torch::NoGradGuard g;
      backend_->broadcast(replicaState(*model_), 0);
    }
    reducer_ = std::make_unique<GradientReducer>(model_->parameters(), floatBuffers(*model_), *backend_);
    if (ctx_.resume && rank == 0) trimMetrics();

    const auto vs = contiguousSlice(reader_->rows("val"), rank, size);
    valRows_ = reader_->readRange("val", vs.first, vs.second);
    valX_ = xTensor(valRows_);
    valY_ = yTensor(valRows_);

    log::info("train: ", tc_.model, " on ", info.path, " (", nTrain_, " train rows, ", reader_->rows("val"),
              " val rows, ", info.periods, " periods x ", info.bands, " bands, ", info.classes(), " classes), ",
              size, " rank(s) x ", ctx_.config.threads(), " thread(s), backend ", backend_->name(),
              ", batch ", tc_.batch_size, " per rank");

    const std::int64_t stopAfter = ctx_.args.count("stop-after") ? ctx_.args["stop-after"].as<int>() : -1;
    std::int64_t ranHere = 0;
    while (!advancePhase()) {
      if (stopAfter >= 0 && ranHere >= stopAfter) {
        log::info("train: stopping after ", ranHere, " epoch(s) as asked; continue with --resume");
        return 0;
      }
      epoch();
      ++ranHere;
    }
    if (rank == 0) {
      fs::copy_file(fs::path(outDir_) / "best.pt", fs::path(outDir_) / "model.pt.tmp",
                    fs::copy_options::overwrite_existing);
      fs::rename(fs::path(outDir_) / "model.pt.tmp", fs::path(outDir_) / "model.pt");
      log::info("train: done after ", state_.epoch, " epochs; best validation loss ", state_.bestVal, " at epoch ",
                state_.bestEpoch + 1, "; model ", (fs::path(outDir_) / "model.pt").string());
    }
    return 0;
  }

 private:
  int phaseEpochs() const { return state_.phase == 0 ? tc_.epochs : tc_.finetune_epochs; }

  // Moves to the next phase when the current one is over; true when training is complete.
  bool advancePhase() {
    for (;;) {
      const bool patienceOut = tc_.patience > 0 && state_.sinceBest >= tc_.patience;
      if (state_.epochInPhase < phaseEpochs() && !patienceOut) return false;
      if (state_.phase == 0 && tc_.finetune_epochs > 0) {
        log::info("train: weighted phase over after ", state_.epochInPhase,
                  " epochs; fine-tuning with plain cross-entropy from the best weights");
        loadWeights((fs::path(outDir_) / "best.pt").string());
        state_.phase = 1;
        state_.epochInPhase = 0;
        state_.bestVal = std::numeric_limits<double>::infinity();
        state_.sinceBest = 0;
        continue;
      }
      return true;
    }
  }

  LossSpec lossSpec() const {
    LossSpec l;
    l.kind = state_.phase == 1 ? "ce" : lossKind_;
    l.classWeights = classWeights_;
    l.alpha = tc_.alpha;
    l.epsilon = tc_.epsilon;
    return l;
  }

  void epoch() {
    const int rank = ctx_.rank(), size = ctx_.size();
    const auto t0 = Clock::now();
    const double lr = scheduledLr(tc_, static_cast<int>(state_.epochInPhase), phaseEpochs());
    for (auto& g : optimizer_->param_groups()) g.options().set_lr(lr);

    const auto shard = epochShard(nTrain_, static_cast<std::uint64_t>(ctx_.config.run.seed),
                                  static_cast<int>(state_.epoch), rank, size);
    SampleRows rows = reader_->read("train", shard);
    auto x = xTensor(rows);
    auto y = yTensor(rows);
    const auto t1 = Clock::now();

    const LossSpec loss = lossSpec();
    const std::int64_t steps = stepsPerEpoch(nTrain_, size, tc_.batch_size);
    const std::int64_t m = rows.n;
    model_->train();
    std::vector<double> sums{0, 0, 0};  // loss * samples, correct, samples
    Progress progress("train epoch " + std::to_string(state_.epoch + 1), steps, "steps", rank == 0);
    for (std::int64_t s = 0; s < steps; ++s) {
      const std::int64_t b0 = s * tc_.batch_size, b1 = std::min(m, b0 + tc_.batch_size);
      auto xb = x.narrow(0, b0, b1 - b0), yb = y.narrow(0, b0, b1 - b0);
      reducer_->zeroGrad();
      auto out = model_->forward(xb);
      auto l = computeLoss(out, yb, loss);
      reducer_->scaleLoss(l).backward();
      reducer_->reduce();  // gradients and running statistics, averaged over the ranks
      optimizer_->step();
      {
        torch::NoGradGuard g;
        sums[0] += l.item<double>() * static_cast<double>(b1 - b0);
        sums[1] += predict(out).classes.eq(yb).sum().item<double>();
        sums[2] += static_cast<double>(b1 - b0);
      }
      progress.add(1);
    }
    progress.finish();
    allreduceSum(sums, comm_);
    const auto t2 = Clock::now();
    Evaluation val = validate(loss);
    const auto t3 = Clock::now();
    const auto report = scoreConfusion(val.cm);

    ++state_.epoch;
    ++state_.epochInPhase;
    const bool better = val.loss < state_.bestVal;
    if (better) {
      state_.bestVal = val.loss;
      state_.bestEpoch = state_.epoch - 1;
      state_.sinceBest = 0;
    } else {
      ++state_.sinceBest;
    }
    meta_.epoch = state_.epoch;
    meta_.valLoss = val.loss;

    const double trainSeconds = seconds(t0, t2);
    const double rate = sums[2] / trainSeconds;
    auto rng = gatherRng();
    if (rank == 0) {
      if (better) {
        torch::serialize::OutputArchive best;
        writeModel(best, *model_, meta_);
        saveArchive(best, (fs::path(outDir_) / "best.pt").string());
      }
      torch::serialize::OutputArchive ck;
      writeModel(ck, *model_, meta_);
      torch::serialize::OutputArchive opt;
      optimizer_->save(opt);
      ck.write("optimizer", opt);
      ck.write("state", c10::IValue(std::vector<std::int64_t>{state_.epoch, state_.phase, state_.epochInPhase,
                                                              state_.bestEpoch, state_.sinceBest}));
      ck.write("best_val", c10::IValue(state_.bestVal));
      ck.write("rng", rng);
      saveArchive(ck, (fs::path(outDir_) / "checkpoint.pt").string());

      json::Object line;
      line.field("epoch", static_cast<long long>(state_.epoch))
          .field("phase", state_.phase == 0 ? "main" : "finetune")
          .field("loss", lossSpec().kind)
          .field("lr", lr)
          .field("train_loss", sums[0] / sums[2])
          .field("train_oa", sums[1] / sums[2])
          .field("val_loss", val.loss)
          .field("val_oa", report.overallAccuracy)
          .field("val_macro_f1", report.macro.f1)
          .field("val_kappa", report.kappa)
          .field("samples_per_s", rate)
          .field("read_s", seconds(t0, t1))
          .field("train_s", seconds(t1, t2))
          .field("val_s", seconds(t2, t3))
          .field("ranks", size)
          .field("best", better ? 1 : 0);
      std::ofstream out(fs::path(outDir_) / "metrics.jsonl", std::ios::app);
      out << line.text() << "\n";
      if (!out) throw std::runtime_error("cannot append to " + (fs::path(outDir_) / "metrics.jsonl").string());
    }
    log::info("epoch ", state_.epoch, (state_.phase ? " (fine-tune)" : ""), ": train loss ", sums[0] / sums[2],
              ", val loss ", val.loss, ", val OA ", report.overallAccuracy, ", macro-F1 ", report.macro.f1, ", ",
              static_cast<long long>(rate), " samples/s", better ? " *" : "");
  }

  Evaluation validate(const LossSpec& loss) {
    torch::NoGradGuard g;
    model_->eval();
    Evaluation e;
    e.cm = ConfusionMatrix(meta_.spec.classes);
    const std::int64_t n = valX_.size(0), chunk = 4096;
    double lossSum = 0;
    for (std::int64_t b0 = 0; b0 < n; b0 += chunk) {
      const std::int64_t k = std::min(chunk, n - b0);
      auto yb = valY_.narrow(0, b0, k);
      auto out = model_->forward(valX_.narrow(0, b0, k));
      lossSum += computeLoss(out, yb, loss).item<double>() * static_cast<double>(k);
      auto pred = predict(out).classes.contiguous();
      auto truth = yb.contiguous();
      for (std::int64_t i = 0; i < k; ++i)
        e.cm.add(static_cast<int>(truth.data_ptr<std::int64_t>()[i]), static_cast<int>(pred.data_ptr<std::int64_t>()[i]));
    }
    std::vector<double> ls{lossSum, static_cast<double>(n)};
    allreduceSum(ls, comm_);
    allreduceSum(e.cm.counts(), comm_);
    e.loss = ls[0] / std::max(1.0, ls[1]);
    return e;
  }

  // Each rank's dropout generator state, stacked on rank 0 as [ranks, bytes].
  torch::Tensor gatherRng() {
    auto gen = at::detail::getDefaultCPUGenerator();
    torch::Tensor mine;
    {
      std::lock_guard<std::mutex> lock(gen.mutex());
      mine = gen.get_state().contiguous();
    }
    const int size = ctx_.size();
    auto all = torch::empty({size, mine.numel()}, torch::kUInt8);
    CROPMAP_MPI(MPI_Gather(mine.data_ptr(), static_cast<int>(mine.numel()), MPI_BYTE, all.data_ptr(),
                           static_cast<int>(mine.numel()), MPI_BYTE, 0, comm_));
    return all;
  }

  void loadWeights(const std::string& path) {
    CROPMAP_MPI(MPI_Barrier(comm_));  // rank 0 may have just written it
    torch::serialize::InputArchive a;
    a.load_from(path);
    torch::serialize::InputArchive w;
    a.read("model", w);
    model_->load(w);
  }

  void restore(const std::string& path) {
    torch::serialize::InputArchive a;
    try {
      a.load_from(path);
    } catch (const c10::Error& e) {
      throw UsageError(path + ": cannot read the checkpoint: " + e.what_without_backtrace());
    }
    ModelMeta m = readModelMeta(a, path);
    if (m.spec.name != meta_.spec.name || m.spec.hidden != meta_.spec.hidden || m.spec.classes != meta_.spec.classes ||
        m.spec.bands != meta_.spec.bands || m.spec.periods != meta_.spec.periods)
      throw UsageError(path + ": the checkpoint holds a " + m.spec.name + " model of another shape than train.model " +
                       "and the sample file ask for; remove it or start without --resume");
    torch::serialize::InputArchive w, o;
    a.read("model", w);
    model_->load(w);
    a.read("optimizer", o);
    optimizer_->load(o);
    c10::IValue v;
    a.read("state", v);
    auto s = v.toIntVector();
    state_.epoch = s.at(0);
    state_.phase = s.at(1);
    state_.epochInPhase = s.at(2);
    state_.bestEpoch = s.at(3);
    state_.sinceBest = s.at(4);
    a.read("best_val", v);
    state_.bestVal = v.toDouble();
    torch::Tensor rng;
    a.read("rng", rng);
    if (rng.size(0) == ctx_.size()) {
      auto gen = at::detail::getDefaultCPUGenerator();
      std::lock_guard<std::mutex> lock(gen.mutex());
      gen.set_state(rng[ctx_.rank()].clone());
    } else {
      log::warn("train: checkpoint written with ", rng.size(0), " ranks, resuming with ", ctx_.size(),
                "; dropout draws are reseeded, so the run will not match an uninterrupted one bit for bit");
      torch::manual_seed(static_cast<std::uint64_t>(ctx_.config.run.seed) + 7919ull * (state_.epoch + 1) +
                         1000003ull * (ctx_.rank() + 1));
    }
  }

  // metrics.jsonl keeps only the epochs the checkpoint covers, so a resumed
  // run's log reads like an uninterrupted one.
  void trimMetrics() {
    const fs::path p = fs::path(outDir_) / "metrics.jsonl";
    std::ifstream in(p);
    std::string line, kept;
    std::int64_t i = 0;
    while (std::getline(in, line) && i < state_.epoch) {
      kept += line + "\n";
      ++i;
    }
    in.close();
    std::ofstream(p, std::ios::trunc) << kept;
  }

  CommandContext& ctx_;
  const TrainSection& tc_;
  MPI_Comm comm_;
  std::string outDir_;
  std::unique_ptr<AllreduceBackend> backend_;
  std::unique_ptr<GradientReducer> reducer_;  // after backend_: destroyed before it
  std::unique_ptr<SampleReader> reader_;
  std::int64_t nTrain_ = 0;
  ModelMeta meta_;
  SeriesModel model_;
  std::unique_ptr<torch::optim::Optimizer> optimizer_;
  std::string lossKind_;
  torch::Tensor classWeights_;
  TrainState state_;
  SampleRows valRows_;
  torch::Tensor valX_, valY_;
};

}  // namespace

Command trainCommand() {
  Command c;
  c.name = "train";
  c.summary = "train a model on samples.h5, data-parallel over the MPI ranks";
  c.description =
      "Reads train.samples (default RUN/samples.h5), trains train.model with train.backend averaging the\n"
      "gradients of every rank, validates every epoch, and writes to RUN/train.output: metrics.jsonl,\n"
      "checkpoint.pt (every epoch), best.pt (best validation loss) and model.pt (the final best model).\n"
      "--resume continues from checkpoint.pt; with the same seed and rank count it ends where an\n"
      "uninterrupted run ends.";
  c.addOptions = [](po::options_description& o, po::positional_options_description&) {
    o.add_options()("stop-after", po::value<int>(),
                    "stop after N epochs of this invocation with a resumable checkpoint (job time limits)");
  };
  c.run = [](CommandContext& ctx) { return Trainer(ctx).run(); };
  return c;
}

// ---------------------------------------------------------------------------
// bench train

namespace {

struct BenchRow {
  std::string model, backend;
  bool overlap = false;
  int ranks = 1, threads = 1, batch = 0, buckets = 0, early = 0;
  std::int64_t steps = 0;
  double samplesPerS = 0, forward = 0, backward = 0, wait = 0, allreduce = 0, optimizer = 0;
  std::size_t bytes = 0;
  double allreduceGBs = 0, rawGBs = 0;
};

double maxOver(double v, MPI_Comm comm) {
  CROPMAP_MPI(MPI_Allreduce(MPI_IN_PLACE, &v, 1, MPI_DOUBLE, MPI_MAX, comm));
  return v;
}

BenchRow benchModel(CommandContext& ctx, const std::string& name, const std::string& backendName, bool overlap,
                    double bucketMb, int steps) {
  const auto& tc = ctx.config.train;
  MPI_Comm comm = ctx.comm();
  ModelSpec spec;
  spec.name = name;
  spec.bands = 13;
  spec.periods = 12;
  spec.classes = 15;
  spec.hidden = tc.hidden;
  spec.dropout = tc.dropout;
  torch::manual_seed(static_cast<std::uint64_t>(ctx.config.run.seed));
  auto model = makeModel(spec);
  auto opt = makeOptimizer(tc, *model);
  auto backend = makeAllreduceBackend(backendName, AllreduceOptions{comm, bucketMb, overlap});
  {
    torch::NoGradGuard g;
    backend->broadcast(replicaState(*model), 0);
  }
  GradientReducer reducer(model->parameters(), floatBuffers(*model), *backend);
  LossSpec loss;
  loss.kind = name == "earlyrnn" ? "early_reward" : "ce";
  const int batch = tc.batch_size;
  auto x = torch::randn({batch, spec.periods, spec.bands});
  auto y = torch::randint(spec.classes, {batch}, torch::kLong);
  model->train();
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

}  // namespace

int benchTrain(CommandContext& ctx) {
  torch::set_num_threads(ctx.config.threads());
  const int steps = ctx.args.count("steps") ? ctx.args["steps"].as<int>() : 30;
  std::vector<std::string> models = modelNames();
  if (ctx.args.count("model")) models = {ctx.args["model"].as<std::string>()};
  std::vector<BenchRow> rows;
  const auto& tc = ctx.config.train;
  const std::string backend = tc.backend == "serial" ? "mpi" : tc.backend;
  // Overlap needs several buckets to have anything to overlap: the seed models
  // hold 0.1-2 MB of gradients, so its row uses buckets of at most 0.25 MB.
  const double overlapBucketMb = std::min(tc.bucket_mb, 0.25);
  for (const auto& m : models) {
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
        .field("raw_mpi_allreduce_gb_s", r.rawGBs);
    js << "  " << o.text() << (i + 1 < rows.size() ? ",\n" : "\n");
  }
  js << "]\n";
  const fs::path file = dir / ("train_np" + std::to_string(ctx.size()) + ".json");
  std::ofstream(file.string() + ".tmp") << js.str();
  fs::rename(file.string() + ".tmp", file);

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
  // Scaling against the one-rank figures, when an earlier run left them.
  const fs::path one = dir / "train_np1.json";
  if (ctx.size() > 1 && fs::exists(one)) {
    std::ifstream in(one);
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    for (const auto& r : rows) {
      // Find the serial row of this model: the one-rank baseline without data parallelism.
      const std::string key = "\"model\": \"" + r.model + "\", \"backend\": \"serial\"";
      auto at = text.find(key);
      if (at == std::string::npos) continue;
      auto sp = text.find("\"samples_per_s\": ", at);
      if (sp == std::string::npos) continue;
      const double base = std::strtod(text.c_str() + sp + 17, nullptr);
      std::printf("%-9s %-11s speed-up at %d ranks over one serial rank: %.2fx\n", r.model.c_str(),
                  label(r).c_str(), r.ranks, r.samplesPerS / base);
    }
  }
  std::printf("written %s\n", file.string().c_str());
  return 0;
}

}  // namespace cropmap
