// `cropmap evaluate`: a trained model on a held-out split, pixel- and
// parcel-level, per fold, with earlyrnn's stopping times; report.json + text.
#include <boost/program_options.hpp>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "pipeline/json.hpp"
#include "kernels/metrics.hpp"
#include "pipeline/registry.hpp"
#include "pipeline/log.hpp"
#include "kernels/shards.hpp"
#include "pipeline/samples.hpp"
#include "pipeline/paths.hpp"
#include "stages/commands.hpp"
#include "stages/predict/inference.hpp"

namespace po = boost::program_options;
namespace fs = std::filesystem;

namespace cropmap {

namespace {

std::string reportJson(const ClassificationReport& r, const ConfusionMatrix& cm, const std::vector<std::string>& names) {
  json::Object o;
  std::int64_t majority = 0;
  for (const auto& c : r.perClass) majority = std::max(majority, c.support);
  o.field("samples", static_cast<long long>(r.samples))
      .field("overall_accuracy", r.overallAccuracy)
      .field("balanced_accuracy", r.balancedAccuracy)
      .field("kappa", r.kappa)
      .field("majority_class_rate", r.samples ? static_cast<double>(majority) / static_cast<double>(r.samples) : 0.0);
  auto avg = [](const Averages& a) {
    return json::Object().field("precision", a.precision).field("recall", a.recall).field("f1", a.f1).text();
  };
  o.raw("macro", avg(r.macro)).raw("weighted", avg(r.weighted));
  std::string per = "[";
  for (size_t c = 0; c < r.perClass.size(); ++c) {
    const auto& s = r.perClass[c];
    per += (c ? ", " : "") + json::Object()
                                 .field("class", names[c])
                                 .field("precision", s.precision)
                                 .field("recall", s.recall)
                                 .field("f1", s.f1)
                                 .field("support", static_cast<long long>(s.support))
                                 .field("predicted", static_cast<long long>(s.predicted))
                                 .text();
  }
  o.raw("per_class", per + "]");
  std::string rows = "[";
  for (int i = 0; i < cm.classes(); ++i) {
    std::vector<long long> row;
    for (int j = 0; j < cm.classes(); ++j) row.push_back(cm.at(i, j));
    rows += (i ? ", " : "") + json::list(row);
  }
  o.raw("confusion", json::Object().raw("classes", json::list(names)).field("rows", "reference").field("columns", "predicted").raw("counts", rows + "]").text());
  return o.text();
}

std::string reportText(const std::string& title, const ClassificationReport& r, const ConfusionMatrix& cm,
                       const std::vector<std::string>& names) {
  std::ostringstream os;
  char b[256];
  std::int64_t majority = 0;
  for (const auto& c : r.perClass) majority = std::max(majority, c.support);
  os << title << ": " << r.samples << " samples\n";
  std::snprintf(b, sizeof b,
                "  overall accuracy %.4f   balanced accuracy %.4f   kappa %.4f   macro F1 %.4f   weighted F1 %.4f   "
                "(majority-class rate %.4f)\n",
                r.overallAccuracy, r.balancedAccuracy, r.kappa, r.macro.f1, r.weighted.f1,
                r.samples ? static_cast<double>(majority) / static_cast<double>(r.samples) : 0.0);
  os << b;
  size_t w = 12;  // fits "weighted avg"
  for (const auto& n : names) w = std::max(w, n.size());
  std::snprintf(b, sizeof b, "  %-*s %10s %10s %8s %9s\n", static_cast<int>(w), "class", "precision", "recall", "F1",
                "support");
  os << b;
  for (size_t c = 0; c < names.size(); ++c) {
    const auto& s = r.perClass[c];
    std::snprintf(b, sizeof b, "  %-*s %10.4f %10.4f %8.4f %9lld\n", static_cast<int>(w), names[c].c_str(), s.precision,
                  s.recall, s.f1, static_cast<long long>(s.support));
    os << b;
  }
  std::snprintf(b, sizeof b, "  %-*s %10.4f %10.4f %8.4f\n", static_cast<int>(w), "macro avg", r.macro.precision,
                r.macro.recall, r.macro.f1);
  os << b;
  std::snprintf(b, sizeof b, "  %-*s %10.4f %10.4f %8.4f\n", static_cast<int>(w), "weighted avg", r.weighted.precision,
                r.weighted.recall, r.weighted.f1);
  os << b;
  os << "  confusion matrix (rows reference, columns predicted, by class number):\n";
  std::snprintf(b, sizeof b, "  %3s %-*s", "", static_cast<int>(w), "");
  os << b;
  for (int j = 0; j < cm.classes(); ++j) {
    std::snprintf(b, sizeof b, " %7d", j);
    os << b;
  }
  os << "\n";
  for (int i = 0; i < cm.classes(); ++i) {
    std::snprintf(b, sizeof b, "  %3d %-*s", i, static_cast<int>(w), names[static_cast<size_t>(i)].c_str());
    os << b;
    for (int j = 0; j < cm.classes(); ++j) {
      std::snprintf(b, sizeof b, " %7lld", static_cast<long long>(cm.at(i, j)));
      os << b;
    }
    os << "\n";
  }
  return os.str();
}

int runEvaluate(CommandContext& ctx) {
  const int rank = ctx.rank(), size = ctx.size();
  MPI_Comm comm = ctx.comm();
  const int fold = ctx.args.count("fold") ? ctx.args["fold"].as<int>() : -1;
  const std::string outDir = foldOutputDir(ctx.config, fold);
  const std::string modelPath = ctx.args.count("model") ? ctx.args["model"].as<std::string>()
                                                        : (fs::path(outDir) / modelKind(ctx.config.train.model).modelFile).string();
  const std::string split = ctx.args.count("split") ? ctx.args["split"].as<std::string>() : fold >= 0 ? "cv" : "test";
  if (split != "train" && split != "val" && split != "test" && split != "cv")
    throw UsageError("--split: expected train, val, test or cv, got '" + split + "'");
  if (split == "cv" && fold < 0) throw UsageError("--split cv scores a cross-validation fold: give --fold K");

  // The classifier (LibTorch or XGBoost, from the file) also says what the model was trained on.
  auto classifier = mapping::Classifier::load(modelPath, mapping::engineOptions(ctx.config));
  const mapping::ModelInfo& spec = classifier->info();
  SampleReader reader(samplesPath(ctx.config), comm);
  const auto& info = reader.info();
  if (!reader.hasSplit(split)) throw UsageError(info.path + ": /" + split + ": split missing; nothing to evaluate");
  if (spec.bands != info.bands || spec.periods != info.periods || spec.classNames != info.classNames)
    throw UsageError(modelPath + " was trained on " + std::to_string(spec.periods) + " periods x " +
                     std::to_string(spec.bands) + " bands and " + std::to_string(spec.classNames.size()) +
                     " classes; " +
                     info.path + " has " + std::to_string(info.periods) + " x " + std::to_string(info.bands) +
                     " and " + std::to_string(info.classes()) + " classes (or other class names)");
  // The classifier normalises with the model's statistics itself (the torch
  // engine with the reader's arithmetic), so the reader hands over physical values.
  reader.setNormalisation(std::vector<double>(static_cast<size_t>(info.bands), 0.0),
                          std::vector<double>(static_cast<size_t>(info.bands), 1.0));

  // Fold K is scored on its own rows of /cv: zones its model never saw.
  const auto scored = foldRows(reader, split, split == "cv" ? fold : -1, true);
  const auto slice = contiguousSlice(static_cast<std::int64_t>(scored.size()), rank, size);
  SampleRows rows =
      reader.read(split, std::vector<std::int64_t>(scored.begin() + slice.first, scored.begin() + slice.second));
  std::vector<std::int32_t> pred(static_cast<size_t>(rows.n)), stop(static_cast<size_t>(rows.n));
  std::vector<float> prob(static_cast<size_t>(rows.n));
  if (rows.n > 0)
    classifier->decide(rows.x.data(), rows.n, ctx.config.predict.batch_size,
                       mapping::PixelDecisions{pred.data(), prob.data(), stop.data()});
  const Comm all(comm);
  auto allY = all.gatherv(rows.y, "evaluate: labels");
  auto allPred = all.gatherv(pred, "evaluate: predictions");
  auto allStop = all.gatherv(stop, "evaluate: stopping steps");
  auto allParcel = all.gatherv(rows.parcel, "evaluate: parcels");
  auto allFold = all.gatherv(rows.fold, "evaluate: folds");
  if (rank != 0) return 0;

  const int K = info.classes();
  const auto& names = info.classNames;
  ConfusionMatrix pixel(K);
  for (size_t i = 0; i < allY.size(); ++i) pixel.add(allY[i], allPred[i]);
  const auto pixelReport = scoreConfusion(pixel);
  const std::string level = info.level == "parcel" ? "parcel table rows" : "pixel";

  json::Object root;
  root.field("model", modelPath).field("model_type", spec.name).field("samples_file", info.path).field("split", split)
      .field("level", info.level).field("epoch", static_cast<long long>(spec.epoch))
      .field("engine", spec.engine == mapping::Engine::Xgboost ? "xgboost" : ctx.config.predict.engine)
      .field("fold", fold);
  root.raw("pixel", reportJson(pixelReport, pixel, names));
  std::string text = "cropmap evaluate: " + spec.name + " (" + modelPath + ") on /" + split + " of " + info.path + "\n\n";
  text += reportText(level + "-level", pixelReport, pixel, names);

  if (!allParcel.empty()) {
    std::vector<int> y(allY.begin(), allY.end()), p(allPred.begin(), allPred.end());
    auto parcel = parcelMajority(allParcel, y, p, K);
    auto pr = scoreConfusion(parcel);
    root.raw("parcel", reportJson(pr, parcel, names));
    text += "\n" + reportText("parcel-level (majority of each parcel's " + level + "s)", pr, parcel, names);
  }
  if (!allFold.empty()) {
    std::map<int, ConfusionMatrix> folds;
    for (size_t i = 0; i < allFold.size(); ++i) {
      if (allFold[i] < 0) continue;
      folds.try_emplace(allFold[i], K).first->second.add(allY[i], allPred[i]);
    }
    std::string fj = "[";
    for (auto& [f, cm] : folds) {
      auto r = scoreConfusion(cm);
      fj += (fj.size() > 1 ? ", " : "") + json::Object()
                                              .field("fold", f)
                                              .field("samples", static_cast<long long>(r.samples))
                                              .field("overall_accuracy", r.overallAccuracy)
                                              .field("balanced_accuracy", r.balancedAccuracy)
                                              .field("kappa", r.kappa)
                                              .field("macro_f1", r.macro.f1)
                                              .text();
      char b[200];
      std::snprintf(b, sizeof b, "fold %d: %lld samples, OA %.4f, kappa %.4f, macro F1 %.4f\n", f,
                    static_cast<long long>(r.samples), r.overallAccuracy, r.kappa, r.macro.f1);
      text += (fj.size() == 1 ? "\n" : "") + std::string(b);
    }
    root.raw("folds", fj + "]");
  }
  if (spec.earlyStopping()) {
    std::vector<double> steps(allStop.begin(), allStop.end());
    auto ms = meanStd(steps);
    const auto& periods = spec.periodStarts;
    const long idx = std::lround(ms.mean);
    const std::string date = idx >= 0 && static_cast<size_t>(idx) < periods.size() ? periods[static_cast<size_t>(idx)] : "";
    root.raw("stopping", json::Object()
                             .field("mean_step", ms.mean)
                             .field("std_step", ms.std)
                             .field("periods", static_cast<long long>(spec.periods))
                             .field("mean_step_period_start", date)
                             .text());
    char b[256];
    std::snprintf(b, sizeof b, "\nearly classification: stops at step %.2f +- %.2f of %d, counted from 1 (mean in the period starting %s)\n",
                  ms.mean + 1, ms.std, spec.periods, date.c_str());
    text += b;
  }
  fs::create_directories(outDir);
  const std::string suffix = split == "test" || split == "cv" ? "" : "_" + split;
  const fs::path jsonPath = fs::path(outDir) / ("report" + suffix + ".json");
  const fs::path textPath = fs::path(outDir) / ("report" + suffix + ".txt");
  for (const auto& [path, body] : {std::pair{jsonPath, root.text() + "\n"}, std::pair{textPath, text}}) {
    std::ofstream out(path.string() + ".tmp");
    out << body;
    out.close();
    if (!out) throw std::runtime_error("cannot write " + path.string());
    fs::rename(path.string() + ".tmp", path);
  }
  if (!ctx.args.count("quiet")) std::fputs(text.c_str(), stdout);
  std::printf("%swritten %s and %s\n", ctx.args.count("quiet") ? "" : "\n", jsonPath.string().c_str(),
              textPath.string().c_str());
  return 0;
}

}  // namespace

Command evaluateCommand() {
  Command c;
  c.name = "evaluate";
  c.summary = "score a trained model on the held-out test split: report.json and a text table";
  c.description =
      "Applies RUN/train.output/model.pt (model.ubj for xgboost; or --model) to a split of the sample file (default test) and\n"
      "reports overall and balanced accuracy, Cohen's kappa, per-class precision (user's accuracy), recall\n"
      "(producer's accuracy) and F1, macro and weighted averages and the confusion matrix, at pixel level\n"
      "and, when the table has parcel ids, at parcel level (majority vote); per fold when it has folds;\n"
      "earlyrnn adds the mean and spread of its stopping step. Writes report.json and report.txt.";
  c.addOptions = [](po::options_description& o, po::positional_options_description&) {
    o.add_options()("model", po::value<std::string>(), "model file (default RUN/train.output/model.pt, model.ubj for xgboost)")(
        "split", po::value<std::string>(), "split to score: test (default), val, train, or cv (with --fold)")(
        "fold", po::value<int>(),
        "cross-validation: score the model of fold K (RUN/train.output/fold-K) on fold K's rows of /cv, into "
        "that directory")("quiet", "write the reports without printing them");
  };
  c.run = runEvaluate;
  return c;
}

}  // namespace cropmap
