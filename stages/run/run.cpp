#include "run.hpp"

#include <boost/program_options.hpp>
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "pipeline/identity.hpp"
#include "pipeline/json.hpp"
#include "pipeline/log.hpp"
#include "stages/commands.hpp"
#include "stages/catalog/catalog.hpp"
#include "stages/composite/composite.hpp"
#include "stages/predict/predict.hpp"
#include "pipeline/paths.hpp"

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

std::string stateFile(const Config& c, const std::string& stage) { return underOutput(c, ".run/" + stage + ".done"); }
std::string startedFile(const Config& c, const std::string& stage) {
  return underOutput(c, ".run/" + stage + ".started");
}

// The fields of the run summary that come from evaluate's report.
std::string headlineMetrics(const std::string& reportPath) {
  if (!fs::exists(reportPath)) return "";
  const json::Value report = json::parseFile(reportPath);
  const json::Value* pixel = report.find("pixel");
  std::string out;
  for (const char* key : {"overall_accuracy", "balanced_accuracy", "kappa"}) {
    const json::Value* v = pixel ? pixel->find(key) : nullptr;
    if (!v || !v->isNumber()) continue;
    char num[32];
    std::snprintf(num, sizeof num, "%.4f", v->number());
    out += std::string(out.empty() ? "" : ", ") + key + " " + num;
  }
  return out;
}

bool always(const Config&) { return true; }

}  // namespace

const std::vector<RunStage>& runStages() {
  static const std::vector<RunStage> stages = {
      {"synth", synthCommand, {"synth"}, [](const Config& c) { return c.synth.enabled; },
       [](const Config& c) { return underOutput(c, c.synth.output); },
       [](const Config& c) { return std::vector<std::string>{c.labels.legend}; }},
      {"composite", compositeCommand, {"inputs", "composite"}, always, [](const Config& c) { return cubePath(c); },
       [](const Config& c) {
         const InputsSection in = effectiveInputs(c);
         std::vector<std::string> reads = in.safe;
         reads.insert(reads.end(), in.geotiff.begin(), in.geotiff.end());
         reads.insert(reads.end(), in.stac.begin(), in.stac.end());
         if (!in.csv.empty()) reads.push_back(in.csv);
         return reads;
       }},
      {"labels", labelsCommand, {"labels"}, always, [](const Config& c) { return cubePath(c); },
       [](const Config& c) {
         Config r = c;
         r.applySynthDefaults();
         return std::vector<std::string>{r.labels.parcels, r.labels.legend};
       }},
      {"split", splitCommand, {"split"}, always, [](const Config& c) { return cubePath(c); },
       [](const Config& c) {
         Config r = c;
         r.applySynthDefaults();
         return std::vector<std::string>{r.split.zones};
       }},
      {"sample", sampleCommand, {"sample"}, always, [](const Config& c) { return samplesPath(c); }, nullptr},
      {"train", trainCommand, {"train", "compute.threads"}, always, [](const Config& c) { return modelPath(c); },
       nullptr},
      {"evaluate", evaluateCommand, {}, always,
       [](const Config& c) { return (fs::path(trainOutputDir(c)) / "report.json").string(); }, nullptr},
      {"predict", predictCommand, {"predict", "compute.threads"}, always,
       [](const Config& c) { return mapping::PredictPaths::fromConfig(c).summary(); },
       [](const Config& c) {
         Config r = c;
         r.applySynthDefaults();
         return std::vector<std::string>{r.labels.parcels};
       }},
      {"cv", cvCommand, {"cv", "train", "predict", "compute.threads"}, [](const Config& c) { return c.cv.enabled; },
       [](const Config& c) { return (fs::path(c.run.output) / c.cv.output / "cv_report.json").string(); }, nullptr},
      {"report", reportCommand, {}, always,
       [](const Config& c) { return (fs::path(c.run.output) / "report" / "index.html").string(); }, nullptr, true},
  };
  return stages;
}

std::string stageFingerprint(const Config& config, const RunStage& stage, const std::string& upstream) {
  std::string text = upstream + "\nstage " + stage.name + "\nseed " + std::to_string(config.run.seed) + "\n";
  for (const auto& s : stage.options) text += config.sectionYaml(s);
  if (stage.reads) text += filesIdentity(stage.reads(config));
  return hex64(fnv1a(text));
}

namespace {

// Removes the records of `from` and of every stage after it (rank 0).
void forgetRecords(const Config& cfg, const std::string& from) {
  bool after = false;
  for (const auto& s : runStages()) {
    after = after || s.name == from;
    if (!after) continue;
    std::error_code ec;
    fs::remove(stateFile(cfg, s.name), ec);
  }
}

}  // namespace

std::string recordedFingerprint(const std::string& path) {
  const std::string text = readText(path);
  return text.substr(0, text.find('\n'));
}

static int runAll(CommandContext& ctx) {
  const Config& cfg = ctx.config;
  const int rank = ctx.rank();
  const Comm comm(ctx.comm());
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
  std::string dirty = force ? "--force" : "";  // once a stage runs, everything after it runs too
  bool resumeUsed = false;  // --resume goes to the first stage that is not complete
  const auto t0 = std::chrono::steady_clock::now();
  for (const auto& stage : runStages()) {
    if (stage.enabled && !stage.enabled(cfg)) {
      rows.push_back({stage.name, "disabled", 0, {}});
      continue;
    }
    // Rank 0 decides from the files and tells the others, so every rank takes the same path.
    std::string fp, why;
    int resumable = 0;
    if (rank == 0) {
      fp = stageFingerprint(cfg, stage, upstream);
      const std::string done = stateFile(cfg, stage.name), started = startedFile(cfg, stage.name);
      if (stage.everyTime) why = "runs every time";
      else if (!dirty.empty()) why = dirty == "--force" ? "--force" : "after " + dirty;
      else if (!fs::exists(done)) why = fs::exists(started) ? "interrupted" : "not run before";
      else if (recordedFingerprint(done) != fp) why = "configuration or inputs changed";
      else if (stage.output && !fs::exists(stage.output(cfg))) why = "output missing";
      resumable = fs::exists(started) && recordedFingerprint(started) == fp;
    }
    fp = comm.bcast(fp, "run: fingerprint");
    why = comm.bcast(why, "run: decision");
    resumable = comm.bcast(resumable, "run: resumable");
    upstream = fp;
    if (why.empty()) {
      log::info("run: ", stage.name, " is complete for this configuration; skipped");
      rows.push_back({stage.name, "skipped (complete)", 0, {}});
    } else {
      if (dirty.empty()) dirty = stage.name;
      const Command cmd = stage.command();
      CommandContext sub;
      sub.config = cfg;
      sub.mpi = ctx.mpi;
      sub.resume = ctx.resume && !resumeUsed && resumable;
      if (ctx.resume && !resumeUsed && !resumable && why == "configuration or inputs changed")
        log::info("run: ", stage.name, ": its configuration or inputs changed since it was started; it starts over");
      resumeUsed = resumeUsed || ctx.resume;
      sub.args = commandArgs(cmd, {});
      log::info("run: ", stage.name, sub.resume ? " (resuming)" : "", " (", why, ") ...");
      if (rank == 0) {
        forgetRecords(cfg, stage.name);
        writeTextAtomically(startedFile(cfg, stage.name), fp + "\n");
      }
      comm.barrier("run: stage start");
      const auto s0 = std::chrono::steady_clock::now();
      const int rc = cmd.run(sub);
      const int worst = comm.max(rc, "run: stage exit codes");
      const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - s0).count();
      if (worst != 0) {
        log::error("run: stage ", stage.name, " failed (exit ", worst, "); fix the cause and rerun with --resume");
        return worst;
      }
      if (rank == 0) {
        writeTextAtomically(stateFile(cfg, stage.name), fp + "\n" + cfg.sectionYaml("run"));
        fs::remove(startedFile(cfg, stage.name));
      }
      rows.push_back({stage.name, "ran (" + why + ")", secs, sub.summary});
    }
    if (ctx.args.count("until") && ctx.args["until"].as<std::string>() == stage.name) break;
  }
  const double total = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();

  if (rank == 0) {
    std::printf("\ncropmap run '%s' on %d rank(s): %.1f s\n", cfg.run.name.c_str(), ctx.size(), total);
    std::printf("  %-10s %-40s %9s  %s\n", "stage", "status", "wall s", "figures");
    for (const auto& r : rows) {
      std::string figures;
      for (const auto& [k, v] : r.summary) figures += (figures.empty() ? "" : ", ") + k + " " + v;
      std::printf("  %-10s %-40s %9.1f  %s\n", r.stage.c_str(), r.status.c_str(), r.seconds, figures.c_str());
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
    show("model", modelPath(cfg));
    show("metrics", (fs::path(trainOutputDir(cfg)) / "metrics.jsonl").string());
    show("report", report);
    show("report", (fs::path(trainOutputDir(cfg)) / "report.txt").string());
    const auto predicted = mapping::PredictPaths::fromConfig(cfg);
    show("maps", predicted.maps());
    show("parcels", predicted.parcels());
    show("stac", (fs::path(cfg.run.output) / "stac" / "collection.json").string());
    show("cv", (fs::path(cfg.run.output) / cfg.cv.output / "cv_report.txt").string());
    show("report", fs::absolute(fs::path(cfg.run.output) / "report" / "index.html").string());
    std::fflush(stdout);
  }
  return 0;
}

Command runCommand() {
  Command c;
  c.name = "run";
  c.summary =
      "every stage in order (synth if configured, composite, labels, split, sample, train, evaluate, predict, cv if "
      "configured, report)";
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

po::variables_map commandArgs(const Command& cmd, const std::vector<std::string>& argv) {
  po::options_description own;
  po::positional_options_description pos;
  if (cmd.addOptions) cmd.addOptions(own, pos);
  po::variables_map vm;
  po::store(po::command_line_parser(argv).options(own).positional(pos).run(), vm);
  po::notify(vm);
  return vm;
}

Command standalone(Command command) {
  const bool isStage = std::any_of(runStages().begin(), runStages().end(),
                                   [&](const RunStage& s) { return s.name == command.name; });
  if (!isStage) return command;
  auto run = command.run;
  const std::string name = command.name;
  const auto use = command.outputUse;
  command.run = [run, name, use](CommandContext& ctx) {
    if (ctx.rank() == 0 && !(use && use(ctx.args) == OutputUse::ReadOnly)) forgetRecords(ctx.config, name);
    return run(ctx);
  };
  return command;
}

}  // namespace cropmap
