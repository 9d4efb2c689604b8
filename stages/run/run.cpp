#include "run.hpp"

#include <boost/program_options.hpp>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>

#include "pipeline/log.hpp"
#include "stages/commands.hpp"
#include "stages/composite/composite.hpp"
#include "stages/predict/predict.hpp"
#include "stages/train/train.hpp"

namespace po = boost::program_options;
namespace fs = std::filesystem;

namespace cropmap {

namespace {

std::string underOutput(const Config& c, const std::string& rel) { return (fs::path(c.run.output) / rel).string(); }

std::string readText(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Writes under a temporary name and renames, like every output of cropmap.
void writeAtomically(const std::string& path, const std::string& text) {
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp);
    out << text;
    if (!out) throw std::runtime_error(tmp + ": cannot write");
  }
  fs::rename(tmp, path);
}

std::string stateFile(const Config& c, const std::string& stage) { return underOutput(c, ".run/" + stage + ".done"); }

// The fields of the run summary that come from evaluate's report.
std::string headlineMetrics(const std::string& reportPath) {
  if (!fs::exists(reportPath)) return "";
  const std::string text = readText(reportPath);
  std::string out;
  for (const char* key : {"overall_accuracy", "balanced_accuracy", "kappa"}) {
    std::smatch m;
    if (std::regex_search(text, m, std::regex(std::string("\"") + key + "\"\\s*:\\s*([-0-9.eE+]+)")))
    {
      char num[32];
      std::snprintf(num, sizeof num, "%.4f", std::stod(m[1].str()));
      out += std::string(out.empty() ? "" : ", ") + key + " " + num;
    }
  }
  return out;
}

// Parses an empty command line against a stage's own flags, so that flags
// with defaults hold them when the stage runs inside `run`.
po::variables_map stageArgs(const Command& cmd) {
  po::options_description own;
  po::positional_options_description pos;
  if (cmd.addOptions) cmd.addOptions(own, pos);
  po::variables_map vm;
  po::store(po::command_line_parser(std::vector<std::string>{}).options(own).run(), vm);
  po::notify(vm);
  return vm;
}

bool always(const Config&) { return true; }

}  // namespace

const std::vector<RunStage>& runStages() {
  static const std::vector<RunStage> stages = {
      {"synth", synthCommand, {"synth"}, [](const Config& c) { return c.synth.enabled; },
       [](const Config& c) { return underOutput(c, c.synth.output); }},
      {"composite", compositeCommand, {"inputs", "composite"}, always,
       [](const Config& c) { return cubePath(c); }},
      {"labels", labelsCommand, {"labels"}, always, [](const Config& c) { return cubePath(c); }},
      {"split", splitCommand, {"split"}, always, [](const Config& c) { return cubePath(c); }},
      {"sample", sampleCommand, {"sample"}, always, [](const Config& c) { return samplesPath(c); }},
      {"train", trainCommand, {"train", "compute"}, always,
       [](const Config& c) { return (fs::path(trainOutputDir(c)) / "model.pt").string(); }},
      {"evaluate", evaluateCommand, {}, always,
       [](const Config& c) { return (fs::path(trainOutputDir(c)) / "report.json").string(); }},
      {"predict", predictCommand, {"predict"}, always,
       [](const Config& c) { return mapping::PredictPaths::fromConfig(c).summary(); }},
  };
  return stages;
}

std::string stageFingerprint(const Config& config, const RunStage& stage, const std::string& upstream) {
  std::string text = upstream + "\nstage " + stage.name + "\nseed " + std::to_string(config.run.seed) + "\n";
  for (const auto& s : stage.sections) text += config.sectionYaml(s);
  std::uint64_t h = 1469598103934665603ULL;
  for (unsigned char ch : text) {
    h ^= ch;
    h *= 1099511628211ULL;
  }
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(h));
  return buf;
}

static int runAll(CommandContext& ctx) {
  const Config& cfg = ctx.config;
  const int rank = ctx.rank();
  const bool force = ctx.args.count("force") > 0;
  if (ctx.args.count("until")) {
    const std::string until = ctx.args["until"].as<std::string>();
    bool found = false;
    for (const auto& s : runStages()) found = found || s.name == until;
    if (!found) throw UsageError("--until " + until + ": not a stage of `cropmap run`");
  }
  if (rank == 0) fs::create_directories(underOutput(cfg, ".run"));

  struct Row {
    std::string stage, status;
    double seconds = 0;
    std::vector<std::pair<std::string, std::string>> summary;
  };
  std::vector<Row> rows;
  std::string upstream;
  bool dirty = force;        // once a stage runs, everything after it runs too
  bool resumeUsed = false;   // --resume goes to the first stage that is not complete
  const auto t0 = std::chrono::steady_clock::now();
  for (const auto& stage : runStages()) {
    if (stage.enabled && !stage.enabled(cfg)) {
      rows.push_back({stage.name, "disabled", 0, {}});
      continue;
    }
    const std::string fp = stageFingerprint(cfg, stage, upstream);
    upstream = fp;
    // Rank 0 decides from the files and tells the others, so every rank takes the same path.
    int skip = 0;
    if (rank == 0 && !dirty) {
      const std::string f = stateFile(cfg, stage.name);
      skip = fs::exists(f) && readText(f).rfind(fp, 0) == 0 && (!stage.output || fs::exists(stage.output(cfg)));
    }
    MPI_Bcast(&skip, 1, MPI_INT, 0, ctx.comm());
    if (skip) {
      log::info("run: ", stage.name, " is complete for this configuration; skipped");
      rows.push_back({stage.name, "skipped (complete)", 0, {}});
    } else {
      dirty = true;
      const Command cmd = stage.command();
      CommandContext sub;
      sub.config = cfg;
      sub.mpi = ctx.mpi;
      sub.resume = ctx.resume && !resumeUsed;
      resumeUsed = resumeUsed || ctx.resume;
      sub.args = stageArgs(cmd);
      log::info("run: ", stage.name, sub.resume ? " (resuming)" : "", " ...");
      MPI_Barrier(ctx.comm());
      const auto s0 = std::chrono::steady_clock::now();
      const int rc = cmd.run(sub);
      int worst = rc;
      MPI_Allreduce(&rc, &worst, 1, MPI_INT, MPI_MAX, ctx.comm());
      const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - s0).count();
      if (worst != 0) {
        log::error("run: stage ", stage.name, " failed (exit ", worst, "); fix the cause and rerun with --resume");
        return worst;
      }
      if (rank == 0) writeAtomically(stateFile(cfg, stage.name), fp + "\n" + cfg.sectionYaml("run"));
      rows.push_back({stage.name, "ran", secs, sub.summary});
    }
    if (ctx.args.count("until") && ctx.args["until"].as<std::string>() == stage.name) break;
  }
  const double total = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();

  if (rank == 0) {
    std::printf("\ncropmap run '%s' on %d rank(s): %.1f s\n", cfg.run.name.c_str(), ctx.size(), total);
    std::printf("  %-10s %-20s %9s  %s\n", "stage", "status", "wall s", "figures");
    for (const auto& r : rows) {
      std::string figures;
      for (const auto& [k, v] : r.summary) figures += (figures.empty() ? "" : ", ") + k + " " + v;
      std::printf("  %-10s %-20s %9.1f  %s\n", r.stage.c_str(), r.status.c_str(), r.seconds, figures.c_str());
    }
    const std::string report = (fs::path(trainOutputDir(cfg)) / "report.json").string();
    const std::string headline = headlineMetrics(report);
    if (!headline.empty()) std::printf("\n  test split: %s\n", headline.c_str());
    std::printf("\n  outputs:\n");
    auto show = [](const char* what, const std::string& path) {
      if (fs::exists(path)) std::printf("    %-10s %s\n", what, path.c_str());
    };
    if (cfg.synth.enabled) show("synthetic", underOutput(cfg, cfg.synth.output));
    show("cube", cubePath(cfg));
    show("samples", samplesPath(cfg));
    show("model", (fs::path(trainOutputDir(cfg)) / "model.pt").string());
    show("metrics", (fs::path(trainOutputDir(cfg)) / "metrics.jsonl").string());
    show("report", report);
    show("report", (fs::path(trainOutputDir(cfg)) / "report.txt").string());
    const auto predicted = mapping::PredictPaths::fromConfig(cfg);
    show("maps", predicted.maps());
    show("parcels", predicted.parcels());
    std::fflush(stdout);
  }
  return 0;
}

Command runCommand() {
  Command c;
  c.name = "run";
  c.summary = "every stage in order (synth if configured, composite, labels, split, sample, train, evaluate, predict)";
  c.description =
      "Skips stages already complete for this configuration (recorded in <run.output>/.run/) and reruns a\n"
      "stage whose configuration changed together with everything after it. --resume continues an\n"
      "interrupted run at the stage and unit where it stopped.";
  c.addOptions = [](po::options_description& o, po::positional_options_description&) {
    o.add_options()("force", "run every stage even if it is complete")(
        "until", po::value<std::string>(), "stop after this stage");
  };
  c.run = runAll;
  return c;
}

}  // namespace cropmap
