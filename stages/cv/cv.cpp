// `cropmap cv`: spatial k-fold cross-validation of every model in cv.models
// (and the baseline) over the folds `cropmap split` dealt, with an optional
// grid (nested selection: the grid point with the best fold mean is retrained
// on every fold's zones and scored on the untouched test zones). Each fold is
// a `cropmap train --fold K` and `cropmap evaluate --fold K` on the same MPI
// ranks; the table is stages/cv/cv_table.
//
// For a job array the folds of every configuration are numbered as tasks
// (entry-major, then fold): `--task I` trains and scores one under a unit lock
// of its own (pipeline/run_lock.hpp), sharing the run directory with the other
// tasks — each writes only its fold's directory and reads the samples — and
// the final `cropmap cv --resume` finds them done by their cv.done stamps.
#include <boost/program_options.hpp>
#include <cstdio>
#include <cstdlib>
#include <filesystem>

#include "cv_table.hpp"
#include "kernels/metrics.hpp"
#include "pipeline/identity.hpp"
#include "pipeline/json.hpp"
#include "pipeline/log.hpp"
#include "pipeline/paths.hpp"
#include "pipeline/registry.hpp"
#include "pipeline/run_lock.hpp"
#include "pipeline/samples.hpp"
#include "stages/commands.hpp"
#include "stages/run/run.hpp"

namespace po = boost::program_options;
namespace fs = std::filesystem;

namespace cropmap {

namespace {

std::string shortNumber(double v) {
  char b[32];
  std::snprintf(b, sizeof b, "%g", v);
  return b;
}

struct GridPoint {
  double lr;
  int kernel;
};

class CrossValidation {
 public:
  CrossValidation(CommandContext& ctx) : ctx_(ctx), cfg_(ctx.config), comm_(ctx.comm()) {}

  int run() {
    readFolds();
    plan();
    if (ctx_.args.count("list-tasks")) return listTasks();
    if (ctx_.args.count("task")) return task(ctx_.args["task"].as<int>());
    for (size_t first = 0; first < table_.entries.size();) {
      const std::string& m = table_.entries[first].model;
      size_t end = first;
      for (; end < table_.entries.size() && table_.entries[end].model == m; ++end) {
        auto& e = table_.entries[end];
        for (int f = 0; f < table_.folds; ++f) e.folds.push_back(fold(configs_[end], f, e.label));
      }
      // The grid point with the best fold mean is the model's final configuration.
      size_t best = first;
      for (size_t i = first; i < end; ++i)
        if (cv::selectionScore(table_, table_.entries[i]) > cv::selectionScore(table_, table_.entries[best])) best = i;
      auto& winner = table_.entries[best];
      if (cfg_.cv.final_models) {
        winner.test = fold(configs_[best], -1, winner.label);
        winner.hasTest = true;
      }
      first = end;
    }
    cv::selectPerModel(table_);
    const fs::path dir = fs::path(cfg_.run.output) / cfg_.cv.output;
    if (comm_.root()) {
      fs::create_directories(dir);
      writeTextAtomically((dir / "cv_report.json").string(), cv::toJson(table_));
      const std::string text = cv::toText(table_);
      writeTextAtomically((dir / "cv_report.txt").string(), text);
      std::fputs(("\n" + text).c_str(), stdout);
      std::printf("\nwritten %s and %s\n", (dir / "cv_report.json").string().c_str(),
                  (dir / "cv_report.txt").string().c_str());
      std::fflush(stdout);
    }
    for (const auto& e : table_.entries)
      if (e.selected) {
        std::vector<double> oa;
        for (const auto& f : e.folds) oa.push_back(f.oa);
        const auto s = foldSpread(oa);
        char b[64];
        std::snprintf(b, sizeof b, "%.3f±%.3f", s.mean, s.sd);
        ctx_.summary.push_back({e.label + " OA", b});
      }
    return 0;
  }

 private:
  // Folds of the sample table and the training rows each fold has per class.
  void readFolds() {
    SampleReader reader(samplesPath(cfg_), comm_.raw());
    const auto& info = reader.info();
    table_.trainRows = foldClassCounts(reader, "train");  // refuses a table without folds
    if (!reader.hasSplit("cv"))
      throw UsageError(info.path + ": no /cv rows to score folds on; cross-validation needs sample.level: pixel");
    table_.folds = info.folds;
    table_.samples = info.path;
    table_.baseline = cfg_.cv.baseline;
    table_.selectBy = cfg_.cv.select_by;
    table_.classNames = info.classNames;
  }

  static bool usesKernel(const std::string& model) { return modelKind(model).kernelSize; }

  // Every model and grid point as a table entry without scores (a model's grid
  // points next to each other), with the configuration it trains with.
  void plan() {
    std::vector<std::string> models = cfg_.cv.models.empty() ? std::vector<std::string>{cfg_.train.model} : cfg_.cv.models;
    if (!cfg_.cv.baseline.empty() && std::find(models.begin(), models.end(), cfg_.cv.baseline) == models.end())
      models.push_back(cfg_.cv.baseline);
    for (const auto& m : models) {
      const auto grid = gridOf(m);
      for (const auto& g : grid) {
        cv::Entry e;
        e.model = m;
        e.label = m;
        if (grid.size() > 1) {
          e.params = "lr " + shortNumber(g.lr) + (usesKernel(m) ? ", kernel " + std::to_string(g.kernel) : "");
          e.label += "-lr" + shortNumber(g.lr) + (usesKernel(m) ? "-k" + std::to_string(g.kernel) : "");
        }
        configs_.push_back(configFor(m, g, e.label));
        table_.entries.push_back(std::move(e));
      }
    }
  }

  // The per-fold units a job array runs one each of (`--task I`): entry I / folds, fold I % folds.
  int taskCount() const { return static_cast<int>(table_.entries.size()) * table_.folds; }

  int listTasks() const {
    if (comm_.root()) {
      std::printf("%d tasks: %zu configurations x %d folds; `cropmap cv --task I` runs task I, then `cropmap cv "
                  "--resume` selects the grid, scores the final models and writes the table\n",
                  taskCount(), table_.entries.size(), table_.folds);
      for (int i = 0; i < taskCount(); ++i)
        std::printf("  %d  %s fold %d\n", i, table_.entries[i / table_.folds].label.c_str(), i % table_.folds);
      std::fflush(stdout);
    }
    return 0;
  }

  // One fold of one configuration, as one task of a job array: its own unit
  // lock and directory; the samples are only read.
  int task(int index) {
    if (index < 0 || index >= taskCount())
      throw UsageError("--task " + std::to_string(index) + ": out of range; this cross-validation has " +
                       std::to_string(taskCount()) + " tasks (0.." + std::to_string(taskCount() - 1) +
                       "), see `cropmap cv --list-tasks`");
    const size_t entry = static_cast<size_t>(index / table_.folds);
    const int f = index % table_.folds;
    const auto& e = table_.entries[entry];
    const std::string unit = "cv-" + e.label + "-fold-" + std::to_string(f);
    const auto lock = RunLock::acquireUnit(cfg_.run.output, unit, "cropmap cv --task " + std::to_string(index), comm_);
    // Holding the unit lock, every temporary file in the unit's directory is a killed start's.
    const std::string dir = foldOutputDir(configs_[entry], f);
    if (comm_.root())
      if (const int n = removeStaleTemporaries(dir)) log::info("removed ", n, " temporary file(s) left below ", dir);
    const cv::FoldScore s = fold(configs_[entry], f, e.label);
    if (comm_.root()) {
      std::printf("cv task %d of %d: %s fold %d: OA %.4f, kappa %.4f, macro-F1 %.4f\n", index, taskCount(),
                  e.label.c_str(), f, s.oa, s.kappa, s.macroF1);
      std::fflush(stdout);
    }
    return 0;
  }

  std::vector<GridPoint> gridOf(const std::string& model) const {
    const auto& cv = cfg_.cv;
    // The learning rate is a LibTorch optimiser's; boosted trees have their own train.xgb_eta.
    std::vector<double> lrs = cv.grid_lr.empty() || modelKind(model).engine != "torch"
                                  ? std::vector<double>{cfg_.train.lr}
                                  : cv.grid_lr;
    std::vector<int> kernels = cv.grid_kernel.empty() || !usesKernel(model)
                                   ? std::vector<int>{cfg_.train.kernel_size}
                                   : cv.grid_kernel;
    std::vector<GridPoint> out;
    for (double lr : lrs)
      for (int k : kernels) out.push_back({lr, k});
    return out;
  }

  // The run's configuration with the model, grid point and output of one entry.
  Config configFor(const std::string& model, const GridPoint& g, const std::string& label) const {
    Config c = cfg_;
    c.train.model = model;
    c.train.lr = g.lr;
    c.train.kernel_size = g.kernel;
    c.train.output = (fs::path(cfg_.cv.output) / label).string();
    const ModelKind& kind = modelKind(model);
    // The loss follows the model when the run's loss does not fit it (earlyrnn's early reward).
    const bool fits = kind.earlyStopping ? (c.train.loss == "auto" || c.train.loss == "early_reward")
                                         : c.train.loss != "early_reward";
    if (!fits || kind.engine != "torch") c.train.finetune_epochs = 0;  // the fine-tune phase is LibTorch's
    if (!fits) c.train.loss = "auto";
    return c;
  }

  // Trains and scores one fold (fold -1: the final model on the test zones),
  // unless --resume finds it done for the same configuration and samples.
  cv::FoldScore fold(const Config& c, int fold, const std::string& label) {
    const std::string dir = foldOutputDir(c, fold);
    const std::string stamp = (fs::path(dir) / "cv.done").string();
    const std::string fp =
        hex64(fnv1a(c.sectionYaml("train") + c.sectionYaml("predict") + filesIdentity({samplesPath(c)}) + "fold " +
                    std::to_string(fold)));
    int done = comm_.root() && ctx_.resume && fs::exists(stamp) && recordedFingerprint(stamp) == fp;
    done = comm_.bcast(done, "cv: fold done");
    const std::string what = fold >= 0 ? label + " fold " + std::to_string(fold) : label + " final model";
    if (done) {
      log::info("cv: ", what, " is complete for this configuration; skipped");
    } else {
      log::info("cv: ", what, (fold >= 0 ? " (trained without the fold, scored on it)" : " (scored on the test zones)"),
                " ...");
      std::vector<std::string> args;
      if (fold >= 0) args = {"--fold", std::to_string(fold)};
      step(trainCommand(), c, args);
      args.push_back("--quiet");
      if (fold < 0) args.insert(args.end(), {"--split", "test"});
      step(evaluateCommand(), c, args);
      if (comm_.root()) writeTextAtomically(stamp, fp + "\n" + madeBy());
    }
    cv::FoldScore s;
    if (comm_.root()) s = cv::readReport((fs::path(dir) / "report.json").string(), static_cast<int>(table_.classNames.size()));
    // Every rank holds the scores: the grid's choice is taken alike everywhere.
    std::vector<double> head{s.oa, s.kappa, s.macroF1, s.parcelOa};
    head = comm_.bcast(head, "cv: fold scores");
    s.oa = head[0];
    s.kappa = head[1];
    s.macroF1 = head[2];
    s.parcelOa = head[3];
    s.classF1 = comm_.bcast(s.classF1, "cv: class F1");
    s.support = comm_.bcast(s.support, "cv: class support");
    s.fold = fold;
    return s;
  }

  void step(const Command& cmd, const Config& c, const std::vector<std::string>& args) {
    CommandContext sub;
    sub.config = c;
    sub.mpi = ctx_.mpi;
    sub.resume = ctx_.resume;
    sub.args = commandArgs(cmd, args);
    const int rc = cmd.run(sub);
    if (comm_.max(rc, "cv: exit codes") != 0)
      throw std::runtime_error("cv: " + cmd.name + " failed; fix the cause and rerun `cropmap cv --resume`");
  }

  // The stamp's second line: the job that trained the fold (for the record; only the first line is compared).
  static std::string madeBy() {
    const auto env = [](const char* k) { const char* v = std::getenv(k); return std::string(v ? v : ""); };
    if (!env("SLURM_ARRAY_JOB_ID").empty())
      return "Slurm array job " + env("SLURM_ARRAY_JOB_ID") + " task " + env("SLURM_ARRAY_TASK_ID") + "\n";
    if (!env("SLURM_JOB_ID").empty()) return "Slurm job " + env("SLURM_JOB_ID") + "\n";
    return "";
  }

  CommandContext& ctx_;
  const Config& cfg_;
  Comm comm_;
  cv::Table table_;
  std::vector<Config> configs_;  // per entry of table_
};

}  // namespace

Command cvCommand() {
  Command c;
  c.name = "cv";
  c.summary = "spatial k-fold cross-validation of cv.models and the baseline (nested grid optional): mean ± sd table";
  c.description =
      "For every model of cv.models (default train.model) and cv.baseline, and every point of the grid\n"
      "cv.grid_lr x cv.grid_kernel, trains with each fold of split.folds held out (`train --fold K`) and\n"
      "scores the fold (`evaluate --fold K`); then retrains the best grid point of each model on all\n"
      "folds and scores it on the test zones. Writes RUN/cv.output/cv_report.{json,txt}: per model\n"
      "mean ± sd and 95 % interval of OA, kappa, macro-F1 and parcel OA, the difference to the baseline,\n"
      "per-class F1 and the classes that cannot be scored. --resume skips folds already done.\n"
      "\n"
      "As a job array (slurm/submit-cv.sh): every fold of every configuration is one task,\n"
      "`cropmap cv --task I` (I from 0; `--list-tasks` numbers them), which trains and scores that fold\n"
      "only and shares the run directory with the other tasks; a final `cropmap cv --resume` finds the\n"
      "folds done, selects the grid, trains the final models and writes the same table as one run.";
  c.addOptions = [](po::options_description& o, po::positional_options_description&) {
    o.add_options()("task", po::value<int>(), "run task I only: one fold of one configuration (see --list-tasks)")(
        "list-tasks", "print the number of tasks and what each trains, then exit");
  };
  c.outputUse = [](const po::variables_map& args) {
    return args.count("list-tasks") ? OutputUse::ReadOnly : args.count("task") ? OutputUse::Unit : OutputUse::Exclusive;
  };
  c.run = [](CommandContext& ctx) { return CrossValidation(ctx).run(); };
  return c;
}

}  // namespace cropmap
