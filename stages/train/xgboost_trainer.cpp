#include "xgboost_trainer.hpp"

#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <numeric>
#include <thread>

#include "class_weights.hpp"
#include "kernels/metrics.hpp"
#include "kernels/shards.hpp"
#include "pipeline/context.hpp"
#include "pipeline/json.hpp"
#include "pipeline/log.hpp"
#include "pipeline/memory.hpp"
#include "pipeline/paths.hpp"
#include "pipeline/samples.hpp"
#include "pipeline/signals.hpp"
#include "xgboost_model.hpp"

namespace fs = std::filesystem;

namespace cropmap {

namespace {

// XGBoost's own copies of a gathered matrix: its dense input is turned into a
// sparse page (value + column index, 8 bytes per value) and a histogram index
// (about 1 byte per value) next to our 4-byte floats.
constexpr double kBytesPerValue = 4 + 8 + 2;

struct Gathered {
  std::vector<float> x, y;  // rank 0 only
  std::int64_t n = 0;
};

// Every rank reads its contiguous share of `rows` (physical values, NaN where
// no data) and rank 0 receives them all, in the order of `rows`.
Gathered gatherSplit(SampleReader& reader, const std::string& split, const std::vector<std::int64_t>& rows,
                     const Comm& comm, int rank, int size) {
  const auto slice = contiguousSlice(static_cast<std::int64_t>(rows.size()), rank, size);
  const std::vector<std::int64_t> mine(rows.begin() + slice.first, rows.begin() + slice.second);
  SampleRows r = reader.read(split, mine);
  Gathered g;
  g.x = comm.gatherv(r.x, "train xgboost: gathering the rows");
  auto y = comm.gatherv(r.y, "train xgboost: gathering the labels");
  g.y.assign(y.begin(), y.end());
  g.n = static_cast<std::int64_t>(rows.size());
  return g;
}

// Rank 0's outcome (0, or the signal that stopped it) on every rank, waited
// for by sleeping rather than spinning: the waiting ranks would otherwise take
// the cores rank 0's threads train on.
int idleBcast(int value, MPI_Comm comm) {
  MPI_Request req;
  CROPMAP_MPI(MPI_Ibcast(&value, 1, MPI_INT, 0, comm, &req));
  for (int done = 0;;) {
    CROPMAP_MPI(MPI_Test(&req, &done, MPI_STATUS_IGNORE));
    if (done) return value;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

}  // namespace

int trainBoostedTrees(CommandContext& ctx) {
  const Config& cfg = ctx.config;
  const TrainSection& tc = cfg.train;
  const int rank = ctx.rank(), size = ctx.size(), threads = cfg.threads();
  const Comm comm(ctx.comm());
  // Cross-validation fold K (--fold K) trains on the other folds' rows outside K's buffer, into fold-K.
  const int fold = ctx.args.count("fold") ? ctx.args["fold"].as<int>() : -1;
  const std::string outDir = foldOutputDir(cfg, fold);
  const std::string modelFile = (fs::path(outDir) / modelKind(tc.model).modelFile).string();

  SampleReader reader(samplesPath(cfg), ctx.comm());
  const auto& info = reader.info();
  for (const char* split : {"train", "val"})
    if (!reader.hasSplit(split))
      throw UsageError(info.path + ": /" + split + ": split missing; training needs train and val splits");
  const auto trainRows = foldRows(reader, "train", fold, false), valRows = foldRows(reader, "val", fold, false);
  if (trainRows.empty() || valRows.empty())
    throw UsageError(info.path + ": xgboost needs training rows and validation rows (early stopping and the "
                                 "choice of the round kept); /train has " + std::to_string(trainRows.size()) +
                     ", /val " + std::to_string(valRows.size()));
  const int K = info.classes();
  const std::int64_t features = static_cast<std::int64_t>(info.periods) * info.bands;

  // Rank 0 holds every row and XGBoost's copies of them.
  const double need = static_cast<double>(trainRows.size() + valRows.size()) * static_cast<double>(features) *
                      kBytesPerValue;
  const MemoryBudget budget(cfg.compute.memory_mb);
  if (budget.limitBytes() > 0 && need > static_cast<double>(budget.limitBytes()))
    throw UsageError("compute.memory_mb: xgboost trains on one rank, which needs about " + formatBytes(need) +
                     " for the " + std::to_string(trainRows.size() + valRows.size()) + " rows x " +
                     std::to_string(features) + " features of " + info.path + ", more than the " +
                     std::to_string(cfg.compute.memory_mb) +
                     " MB allowed per rank; raise compute.memory_mb (and give rank 0 a node with that memory) or "
                     "sample fewer rows (sample.train_size, sample.eval_size)");
  log::info("train: xgboost on ", info.path,
            fold >= 0 ? ", cross-validation fold " + std::to_string(fold) + " held out" : std::string(), " (", trainRows.size(), " train rows, ", valRows.size(), " val rows, ",
            info.periods, " periods x ", info.bands, " bands = ", features, " features, ", K,
            " classes): rows gathered to rank 0, about ", formatBytes(need), " of the ",
            budget.limitBytes() > 0 ? formatBytes(static_cast<double>(budget.limitBytes())) + " allowed per rank"
                                    : std::string("unlimited compute.memory_mb"),
            "; rank 0 trains with ", threads, " thread(s)", size > 1 ? ", the other ranks wait" : "");

  // Trees split on physical values, so no normalisation; NaN stays missing.
  reader.setNormalisation(std::vector<double>(static_cast<size_t>(info.bands), 0.0),
                          std::vector<double>(static_cast<size_t>(info.bands), 1.0));
  const std::string lossKind = tc.loss == "auto" ? modelKind(tc.model).defaultLoss : tc.loss;
  const std::vector<double> classWeights =
      lossKind == "weighted_ce"
          ? appliedClassWeights(tc, info, fold < 0 ? info.trainCounts : classCounts(reader, "train", trainRows))
          : std::vector<double>();
  Gathered train = gatherSplit(reader, "train", trainRows, comm, rank, size);
  Gathered val = gatherSplit(reader, "val", valRows, comm, rank, size);

  int stoppedBy = 0;
  if (rank == 0) {
    using Clock = std::chrono::steady_clock;
    const auto t0 = Clock::now();
    fs::create_directories(outDir);
    xgb::DMatrix dtrain(train.x.data(), train.n, features, threads), dval(val.x.data(), val.n, features, threads);
    dtrain.setLabels(train.y);
    dval.setLabels(val.y);
    if (!classWeights.empty()) {
      std::vector<float> w(train.y.size());
      for (size_t i = 0; i < w.size(); ++i) w[i] = static_cast<float>(classWeights[static_cast<size_t>(train.y[i])]);
      dtrain.setWeights(w);
    }
    train.x = {};  // XGBoost holds its own copy now
    val.x = {};
    xgb::Booster booster({&dtrain, &dval});
    booster.setParam("objective", "multi:softprob");
    booster.setParam("num_class", std::to_string(K));
    booster.setParam("tree_method", "hist");
    booster.setParam("max_depth", std::to_string(tc.xgb_depth));
    booster.setParam("eta", json::num(tc.xgb_eta));
    booster.setParam("seed", std::to_string(cfg.run.seed));
    booster.setParam("nthread", std::to_string(threads));
    booster.setParam("eval_metric", "mlogloss");
    booster.setParam("verbosity", "1");

    std::ofstream metrics(fs::path(outDir) / "metrics.jsonl", std::ios::trunc);
    double best = std::numeric_limits<double>::infinity();
    int bestRound = 0, round = 0;
    for (; round < tc.xgb_rounds; ++round) {
      if ((stoppedBy = stopSignal())) break;
      booster.updateOneIter(round, dtrain);
      const std::string line = booster.evalOneIter(round, {&dtrain, &dval}, {"train", "val"});
      const double trainLoss = xgb::evalMetric(line, "train"), valLoss = xgb::evalMetric(line, "val");
      const bool better = valLoss < best;
      if (better) {
        best = valLoss;
        bestRound = round;
      }
      json::Object o;
      o.field("epoch", round + 1)
          .field("round", round + 1)
          .field("loss", "mlogloss")
          .field("train_loss", trainLoss)
          .field("val_loss", valLoss)
          .field("elapsed_s", std::chrono::duration<double>(Clock::now() - t0).count())
          .field("best", better ? 1 : 0);
      metrics << o.text() << "\n";
      if ((round + 1) % 25 == 0 || round == 0)
        log::info("round ", round + 1, ": train mlogloss ", trainLoss, ", val mlogloss ", valLoss, better ? " *" : "");
      if (tc.xgb_early_rounds > 0 && round - bestRound >= tc.xgb_early_rounds) {
        ++round;
        break;
      }
    }
    metrics.close();
    if (!metrics) throw std::runtime_error("cannot write " + (fs::path(outDir) / "metrics.jsonl").string());
    if (!stoppedBy) {
      const xgb::BoosterMeta meta{tc.model,          info.periods,      info.bands, info.classNames,
                                  info.bandNames,    info.periodStarts, bestRound + 1, best};
      xgb::Booster kept = booster.slice(bestRound + 1);
      kept.save(modelFile, meta);

      // Validation accuracy of the kept rounds, as the deep trainer reports it.
      std::vector<float> prob;
      kept.predict(dval, prob);
      ConfusionMatrix cm(K);
      for (std::int64_t i = 0; i < val.n; ++i) {
        const float* p = prob.data() + i * K;
        cm.add(static_cast<int>(val.y[static_cast<size_t>(i)]), static_cast<int>(std::max_element(p, p + K) - p));
      }
      const auto report = scoreConfusion(cm);
      log::info("train: xgboost done after ", round, " rounds in ",
                std::chrono::duration<double>(Clock::now() - t0).count(), " s; kept ", bestRound + 1,
                " (best validation mlogloss ", best, ", val OA ", report.overallAccuracy, ", macro-F1 ",
                report.macro.f1, "); model ", modelFile);
    }
  }
  const int sig = idleBcast(stoppedBy, ctx.comm());
  if (sig)
    throw Interrupted("train: xgboost stopped by " + signalName(sig) +
                      " between boosting rounds; boosting keeps no checkpoint, so it starts again with --resume");
  return 0;
}

}  // namespace cropmap
