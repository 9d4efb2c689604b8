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
#include "class_weights.hpp"
#include "models.hpp"
#include "xgboost_trainer.hpp"
#include "pipeline/comm/allreduce.hpp"
#include "pipeline/comm/gradient_reducer.hpp"
#include "pipeline/log.hpp"
#include "pipeline/progress.hpp"
#include "pipeline/signals.hpp"
#include "kernels/shards.hpp"
#include "pipeline/samples.hpp"
#include "pipeline/paths.hpp"
#include "stages/commands.hpp"

namespace po = boost::program_options;
namespace fs = std::filesystem;

namespace cropmap {

namespace {

using Clock = std::chrono::steady_clock;
double seconds(Clock::time_point a, Clock::time_point b) { return std::chrono::duration<double>(b - a).count(); }

// A value the cube had no data for (NaN in the sample table: a pixel never
// seen clear in a period) enters at the band's mean, 0 in normalised units;
// one NaN would otherwise turn the batch's loss and then every weight into NaN.
torch::Tensor xTensor(SampleRows& rows) {
  return torch::nan_to_num(torch::from_blob(rows.x.data(), {rows.n, rows.periods, rows.bands}, torch::kFloat), 0.0);
}
torch::Tensor yTensor(const SampleRows& rows) {
  return torch::from_blob(const_cast<std::int32_t*>(rows.y.data()), {rows.n}, torch::kInt).to(torch::kLong);
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
  // Within an epoch a stop signal interrupted: steps done and the job-wide sums
  // of loss x samples, correct and samples so far (0 at an epoch boundary).
  std::int64_t step = 0;
  std::vector<double> partial{0, 0, 0};
  bool done = false;

  // Named fields in the checkpoint, so that adding one never shifts the others.
  void save(torch::serialize::OutputArchive& a) const {
    a.write("epoch", c10::IValue(epoch));
    a.write("phase", c10::IValue(phase));
    a.write("epoch_in_phase", c10::IValue(epochInPhase));
    a.write("best_val", c10::IValue(bestVal));
    a.write("best_epoch", c10::IValue(bestEpoch));
    a.write("since_best", c10::IValue(sinceBest));
    a.write("step", c10::IValue(step));
    a.write("partial", c10::IValue(partial));
  }
  void load(torch::serialize::InputArchive& a, const std::string& path) {
    auto field = [&](const char* key) {
      c10::IValue v;
      if (!a.try_read(key, v)) throw UsageError(path + ": train_state/" + key + " missing from the checkpoint");
      return v;
    };
    epoch = field("epoch").toInt();
    phase = field("phase").toInt();
    epochInPhase = field("epoch_in_phase").toInt();
    bestVal = field("best_val").toDouble();
    bestEpoch = field("best_epoch").toInt();
    sinceBest = field("since_best").toInt();
    step = field("step").toInt();
    partial = field("partial").toDoubleVector();
  }
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
    fold_ = ctx_.args.count("fold") ? ctx_.args["fold"].as<int>() : -1;
    outDir_ = foldOutputDir(ctx_.config, fold_);
    if (rank == 0) fs::create_directories(outDir_);
    CROPMAP_MPI(MPI_Barrier(comm_));

    backend_ = makeAllreduceBackend(tc_.backend, AllreduceOptions{comm_, tc_.bucket_mb, tc_.overlap});
    reader_ = std::make_unique<SampleReader>(samplesPath(ctx_.config), comm_);
    const auto& info = reader_->info();
    for (const char* split : {"train", "val"})
      if (!reader_->hasSplit(split))
        throw UsageError(info.path + ": /" + split + ": split missing; training needs train and val splits");
    // Cross-validation fold K trains and validates on the other folds' rows outside fold K's buffer.
    trainRows_ = foldRows(*reader_, "train", fold_, false);
    const auto valRows = foldRows(*reader_, "val", fold_, false);
    nTrain_ = static_cast<std::int64_t>(trainRows_.size());
    if (valRows.empty())
      throw UsageError(info.path + ": /val has no rows" + (fold_ >= 0 ? " outside fold " + std::to_string(fold_) : "") +
                       "; validation drives early stopping and model selection: give the split validation zones "
                       "(split.val_fraction, split.ratios)");
    if (shardLength(nTrain_, size) == 0)
      throw UsageError(info.path + ": /train has " + std::to_string(nTrain_) + " rows, fewer than the " +
                       std::to_string(size) + " ranks");

    meta_.spec.name = tc_.model;
    meta_.spec.bands = info.bands;
    meta_.spec.periods = info.periods;
    meta_.spec.classes = info.classes();
    meta_.spec.hidden = tc_.hidden;
    meta_.spec.dropout = tc_.dropout;
    meta_.spec.kernel = tc_.kernel_size;
    meta_.bandMean = info.bandMean;
    meta_.bandStd = info.bandStd;
    meta_.classNames = info.classNames;
    meta_.bandNames = info.bandNames;
    meta_.periodStarts = info.periodStarts;
    meta_.configYaml = ctx_.config.yaml();

    torch::manual_seed(static_cast<std::uint64_t>(ctx_.config.run.seed));
    model_ = makeModel(meta_.spec);
    optimizer_ = makeOptimizer(tc_, *model_);
    lossKind_ = tc_.loss == "auto" ? modelKind(tc_.model).defaultLoss : tc_.loss;
    if (lossKind_ == "weighted_ce") {
      const auto weights =
          appliedClassWeights(tc_, info, fold_ < 0 ? info.trainCounts : classCounts(*reader_, "train", trainRows_));
      classWeights_ = torch::tensor(c10::ArrayRef<double>(weights), torch::kDouble).to(torch::kFloat);
    }

    const std::string ckpt = (fs::path(outDir_) / "checkpoint.pt").string();
    if (ctx_.resume && fs::exists(ckpt)) {
      restore(ckpt);
      log::info("train: resuming ", ckpt, " after epoch ", state_.epoch,
                state_.step ? " and step " + std::to_string(state_.step) + " of the next" : std::string());
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

    const auto vs = contiguousSlice(static_cast<std::int64_t>(valRows.size()), rank, size);
    valRows_ = reader_->read("val", std::vector<std::int64_t>(valRows.begin() + vs.first, valRows.begin() + vs.second));
    valX_ = xTensor(valRows_);
    valY_ = yTensor(valRows_);

    log::info("train: ", tc_.model, " on ", info.path,
              fold_ >= 0 ? ", cross-validation fold " + std::to_string(fold_) + " held out" : std::string(), " (",
              nTrain_, " train rows, ", valRows.size(), " val rows, ", info.periods, " periods x ", info.bands, " bands, ", info.classes(), " classes), ",
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

    auto shard = epochShard(nTrain_, static_cast<std::uint64_t>(ctx_.config.run.seed),
                            static_cast<int>(state_.epoch), rank, size);
    for (auto& i : shard) i = trainRows_[static_cast<size_t>(i)];
    SampleRows rows = reader_->read("train", shard);
    auto x = xTensor(rows);
    auto y = yTensor(rows);
    const auto t1 = Clock::now();

    const LossSpec loss = lossSpec();
    const std::int64_t steps = stepsPerEpoch(nTrain_, size, tc_.batch_size);
    const std::int64_t m = rows.n;
    model_->train();
    // loss * samples, correct, samples; after a stop mid-epoch rank 0 carries the job's sums so far
    std::vector<double> sums = rank == 0 ? state_.partial : std::vector<double>{0, 0, 0};
    Progress progress("train epoch " + std::to_string(state_.epoch + 1), steps, "steps", rank == 0);
    progress.set(state_.step);
    for (std::int64_t s = state_.step; s < steps; ++s) {
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
      if (const int sig = stopAgreed(Comm(comm_))) {
        progress.finish();
        stopWithin(s + 1, sums, sig);
      }
    }
    progress.finish();
    state_.step = 0;
    state_.partial = {0, 0, 0};
    Comm(comm_).sumInPlace(sums, "train: epoch loss and counts");
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
      writeCheckpoint(rng, (fs::path(outDir_) / "checkpoint.pt").string());

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
    Comm(comm_).sumInPlace(ls, "train: validation loss");
    Comm(comm_).sumInPlace(e.cm.counts(), "train: validation confusion matrix");
    e.loss = ls[0] / std::max(1.0, ls[1]);
    return e;
  }

  // A stop signal after `steps` steps of the epoch: everything an exact resume
  // needs goes into the checkpoint, then the command ends with Interrupted.
  [[noreturn]] void stopWithin(std::int64_t steps, std::vector<double> sums, int sig) {
    Comm(comm_).sumInPlace(sums, "train: partial epoch sums");
    state_.step = steps;
    state_.partial = sums;
    auto rng = gatherRng();
    const std::string path = (fs::path(outDir_) / "checkpoint.pt").string();
    if (ctx_.rank() == 0) writeCheckpoint(rng, path);
    Comm(comm_).barrier("train: checkpoint written");
    throw Interrupted("train: stopped by " + signalName(sig) + " in epoch " + std::to_string(state_.epoch + 1) +
                      " after step " + std::to_string(steps) + "; checkpoint " + path +
                      " written, continue with --resume");
  }

  void writeCheckpoint(const torch::Tensor& rng, const std::string& path) {
    torch::serialize::OutputArchive ck;
    writeModel(ck, *model_, meta_);
    torch::serialize::OutputArchive opt;
    optimizer_->save(opt);
    ck.write("optimizer", opt);
    torch::serialize::OutputArchive st;
    state_.save(st);
    ck.write("train_state", st);
    ck.write("rng", rng);
    saveArchive(ck, path);
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
        m.spec.kernel != meta_.spec.kernel ||
        m.spec.bands != meta_.spec.bands || m.spec.periods != meta_.spec.periods)
      throw UsageError(path + ": the checkpoint holds a " + m.spec.name + " model of another shape than train.model " +
                       "and the sample file ask for; remove it or start without --resume");
    torch::serialize::InputArchive w, o;
    a.read("model", w);
    model_->load(w);
    a.read("optimizer", o);
    optimizer_->load(o);
    torch::serialize::InputArchive st;
    if (!a.try_read("train_state", st))
      throw UsageError(path + ": the checkpoint has no train_state (written by an older cropmap); remove it or "
                              "start without --resume");
    state_.load(st, path);
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
  int fold_ = -1;
  std::vector<std::int64_t> trainRows_;  // the rows of /train this run trains on
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
      "uninterrupted run ends. train.model xgboost gathers the rows to rank 0 (when they fit\n"
      "compute.memory_mb), boosts trees with early stopping on the validation rows and writes model.ubj\n"
      "and metrics.jsonl (no checkpoints: it restarts from scratch).";
  c.addOptions = [](po::options_description& o, po::positional_options_description&) {
    o.add_options()("stop-after", po::value<int>(),
                    "stop after N epochs of this invocation with a resumable checkpoint (job time limits)")(
        "fold", po::value<int>(),
        "cross-validation: hold out fold K (train on the other folds, outside K's buffer) and write to "
        "RUN/train.output/fold-K");
  };
  c.run = [](CommandContext& ctx) {
    if (modelKind(ctx.config.train.model).engine == "xgboost") return trainBoostedTrees(ctx);
    return Trainer(ctx).run();
  };
  return c;
}

// ---------------------------------------------------------------------------
// bench train

}  // namespace cropmap
