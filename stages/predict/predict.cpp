#include "predict.hpp"

#include <boost/program_options.hpp>
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <sstream>

#include "inference.hpp"
#include "kernels/metrics.hpp"
#include "map_writer.hpp"
#include "parcel_votes.hpp"
#include "pipeline/cube.hpp"
#include "pipeline/gdal_io.hpp"
#include "pipeline/legend.hpp"
#include "pipeline/log.hpp"
#include "pipeline/memory.hpp"
#include "pipeline/mpi.hpp"
#include "pipeline/identity.hpp"
#include "pipeline/json.hpp"
#include "pipeline/paths.hpp"
#include "scheduler/block_stage.hpp"

namespace po = boost::program_options;

namespace cropmap::mapping {

namespace fs = std::filesystem;

std::string PredictPaths::maps() const { return (fs::path(output) / "maps").string(); }
std::string PredictPaths::parts() const { return (fs::path(output) / "maps" / ".parts").string(); }
std::string PredictPaths::parcels() const { return (fs::path(output) / "parcels.gpkg").string(); }
std::string PredictPaths::summary() const { return (fs::path(output) / "predict_summary.json").string(); }

PredictPaths PredictPaths::fromConfig(const Config& c) {
  PredictPaths p;
  p.output = c.run.output;
  p.cube = cubePath(c);
  p.model = c.predict.model.empty() ? modelPath(c) : c.predict.model;
  return p;
}

namespace {

constexpr std::uint8_t kTestSplit = 3;

using Clock = std::chrono::steady_clock;
double since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

// Used when the configuration names no legend: distinct, colour-blind-safe-ish hues.
const std::array<std::uint8_t, 3> kFallbackColours[] = {
    {31, 119, 180}, {255, 127, 14}, {44, 160, 44},  {214, 39, 40},  {148, 103, 189}, {140, 86, 75},
    {227, 119, 194}, {127, 127, 127}, {188, 189, 34}, {23, 190, 207}, {174, 199, 232}, {255, 187, 120},
    {152, 223, 138}, {255, 152, 150}, {197, 176, 213}, {196, 156, 148}, {247, 182, 210}, {219, 219, 141}};

MapStyle makeStyle(const Config& cfg, const ModelInfo& model, const Cube& cube) {
  MapStyle s;
  s.classNames = model.classNames;
  s.periods = cube.layout().periods;
  s.stopBand = model.earlyStopping();
  s.format = cfg.predict.format;
  s.compress = cfg.predict.compress;
  const size_t k = s.classNames.size();
  for (size_t i = 0; i < k; ++i) s.colours.push_back(kFallbackColours[i % std::size(kFallbackColours)]);
  if (!cfg.labels.legend.empty() && cfg.labels.level == 0) {
    const Legend legend = loadLegend(cfg.labels);
    // Colours follow the class names, so a model trained on another legend keeps sensible colours.
    for (size_t i = 0; i < k; ++i)
      for (const auto& c : legend.classes)
        if (c.name == s.classNames[i]) s.colours[i] = c.colour;
  }
  return s;
}

// What the parts were made from; parts from anything else are not reused.
// The cube is identified by the configuration it was composited with, so a
// cube rebuilt under the same path invalidates the parts too.
std::string manifestText(const PredictPaths& paths, const ModelInfo& model, const Cube& cube, int block) {
  const std::uint64_t h = fnv1a(cube.layout().configYaml);
  std::ostringstream m;
  m << "cropmap predict parts\n"
    << "model: " << (model.path.rfind("untrained ", 0) == 0 ? model.path : fileIdentity(model.path)) << "\n"
    << "cube: " << fs::absolute(paths.cube).string() << " composited with config " << std::hex << h << std::dec
    << "\n"
    << "block: " << block << "\n"
    << "classes:";
  for (const auto& n : model.classNames) m << " " << n;
  m << "\n";
  return m.str();
}

// What the finished outputs were made from: the parts' sources and the output options.
std::string completeText(const std::string& manifest, const Config& cfg, bool parcels, const PredictOptions& o) {
  std::ostringstream m;
  m << manifest << "format: " << cfg.predict.format << " " << cfg.predict.compress << " with qml, clear layer\n"
    << "quicklook: " << (o.quicklooks ? cfg.predict.quicklook_size : 0) << "\n"
    << "parcels: " << (parcels ? cfg.labels.parcels + " " + cfg.labels.layer + " " + cfg.labels.id_field : "none")
    << "\n";
  return m.str();
}

std::string slurp(const std::string& path) {
  std::ifstream in(path);
  if (!in) return "";
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// The predict stage on the block driver: prepare decides between a fresh
// start, a resume from the parts and "complete"; finish assembles the maps,
// reduces the parcel votes and the test-split accuracy, and writes the summary.
class PredictStage : public BlockStage {
 public:
  PredictStage(const Config& cfg, const PredictPaths& paths, const PredictOptions& options, Classifier* classifier)
      : BlockStage("predict"), cfg_(cfg), paths_(paths), options_(options), classifierOverride_(classifier) {}

  UnitPlan prepare(const Comm& comm) override {
    if (!fs::exists(paths_.cube))
      throw UsageError(paths_.cube + ": no cube; run `cropmap composite` with the same configuration first");
    if (!classifierOverride_) owned_ = Classifier::load(paths_.model, engineOptions(cfg_));
    Classifier& classifier = classifierOverride_ ? *classifierOverride_ : *owned_;
    const ModelInfo& model = classifier.info();
    cube_ = Cube::open(paths_.cube, comm.raw(), false);
    if (cube_.periods() != model.periods || cube_.bands() != model.bands)
      throw UsageError(model.path + " expects " + std::to_string(model.periods) + " periods x " +
                       std::to_string(model.bands) + " bands; " + paths_.cube + " has " +
                       std::to_string(cube_.periods()) + " x " + std::to_string(cube_.bands()));
    if (!model.bandNames.empty() && model.bandNames != cube_.layout().bands)
      throw UsageError(model.path + " was trained on other bands than " + paths_.cube + " holds");
    const auto& periods = cube_.layout().periods;
    if (!model.periodStarts.empty() && model.periodStarts != periods) {
      const std::string what = model.path + " was trained on periods " + model.periodStarts.front() + " .. " +
                               model.periodStarts.back() + ", " + paths_.cube + " holds " + periods.front() + " .. " +
                               periods.back();
      if (!cfg_.predict.allow_other_periods)
        throw UsageError(what + ": the model would read shifted phenology. Use a model trained on the cube's "
                                "period axis (composite.year, start_month, period), or set "
                                "predict.allow_other_periods: true to apply it anyway");
      log::warn("predict: ", what, "; applied anyway (predict.allow_other_periods)");
    }
    style_ = makeStyle(cfg_, model, cube_);
    parcels_ = options_.parcels && cfg_.predict.parcels && cube_.hasLayer("parcel") && !cfg_.labels.parcels.empty();
    accuracy_ = cube_.hasLayer("label") && cube_.hasLayer("split");
    if (options_.parcels && cfg_.predict.parcels && !parcels_)
      log::warn("predict: no parcel file written: ", cfg_.labels.parcels.empty()
                                                         ? "labels.parcels is not set"
                                                         : "the cube has no parcel layer (run `cropmap labels`)");
    const std::int64_t PB = static_cast<std::int64_t>(cube_.periods()) * cube_.bands();
    MemoryBudget(cfg_.compute.memory_mb)
        .checkBlock("predict", cfg_.composite.block_size, cube_.layout().chunk, [&](int b) {
          // the block's series (stored and as floats), the map bands, the layers, the valid-pixel index
          return static_cast<std::int64_t>(b) * b * (6 * PB + 25);
        });
    UnitPlan plan;
    plan.blockEdge = cfg_.composite.block_size;
    plan.units = makeUnits(cube_.tiles(), plan.blockEdge);
    plan.assignment = assignmentOf(cfg_.compute.scheduler);
    for (const auto& t : cube_.tiles()) {
      plan.tiles.push_back(t.name);
      report_.maps.push_back(mapPath(t));
    }
    manifest_ = manifestText(paths_, model, cube_, plan.blockEdge);
    plan.done.assign(plan.units.size(), 0);
    plan.complete = comm.bcast(comm.root() ? startOrResume(plan) : 0, "predict: resume decision") != 0;
    if (plan.complete) {
      log::info("predict: complete for this model and cube (", completePath(), "); nothing to do (--resume)");
      return plan;
    }
    plan.done = comm.bcast(plan.done, "predict: units done before");
    units_ = plan.units;
    votes_ = std::make_unique<ParcelVotes>(static_cast<int>(style_.classNames.size()));
    confusion_ = std::make_unique<ConfusionMatrix>(static_cast<int>(style_.classNames.size()));
    const auto resumed = std::count(plan.done.begin(), plan.done.end(), 1);
    report_.units = static_cast<std::int64_t>(plan.units.size());
    report_.unitsSkipped = resumed;
    log::info("predict: ", model.name, " model ", model.path, " on ", cube_.tiles().size(), " tiles, ",
              plan.units.size(), " units of ", plan.blockEdge, " px",
              resumed ? ", " + std::to_string(resumed) + " done before" : "", "; ", comm.size(), " ranks x ",
              cfg_.threads(), " threads, ",
              model.engine == Engine::Fused     ? "fused engine, " + std::to_string(model.rows) + " px chunks"
              : model.engine == Engine::Torch ? "torch engine, batch " + std::to_string(cfg_.predict.batch_size)
                                              : "xgboost, batch " + std::to_string(cfg_.predict.batch_size));
    classifier_ = &classifier;
    return plan;
  }

  // Classify one unit and write its part.
  void process(const WorkUnit& u) override {
    const TileGrid& grid = cube_.tiles()[static_cast<size_t>(u.tile)];
    const Window w = u.window();
    const int P = cube_.periods(), B = cube_.bands();
    const size_t n = static_cast<size_t>(w.pixels());
    const auto& layout = cube_.layout();

    auto t0 = Clock::now();
    refl_.resize(static_cast<size_t>(P) * static_cast<size_t>(B) * n);
    cube_.readReflectance(grid.name, w, refl_.data());
    readLayers(grid.name, w);
    // [P][B][pixel] -> [pixel][P][B] for the pixels with data everywhere.
    valid_.clear();
    for (size_t i = 0; i < n; ++i) {
      bool ok = true;
      for (size_t pb = 0; pb < static_cast<size_t>(P * B) && ok; ++pb) ok = refl_[pb * n + i] != layout.fillValue;
      if (ok) valid_.push_back(i);
    }
    const size_t cell = static_cast<size_t>(P * B);
    x_.resize(valid_.size() * cell);
    for (size_t pb = 0; pb < cell; ++pb) {
      const size_t b = pb % static_cast<size_t>(B);
      const double offset = b < layout.bandOffsets.size() ? layout.bandOffsets[b] : 0.0;
      const std::uint16_t* src = refl_.data() + pb * n;
      for (size_t v = 0; v < valid_.size(); ++v)
        x_[v * cell + pb] = static_cast<float>(src[valid_[v]] * layout.scaleFactor + offset);
    }
    read_ += since(t0);

    t0 = Clock::now();
    const auto nv = static_cast<std::int64_t>(valid_.size());
    cls_.resize(valid_.size());
    conf_.resize(valid_.size());
    stop_.resize(valid_.size());
    if (nv > 0) classifier_->classify(x_.data(), nv, cfg_.predict.batch_size, cls_.data(), conf_.data(), stop_.data());
    BlockMap block(w, style_.bands());
    for (size_t v = 0; v < valid_.size(); ++v) {
      block.band(0)[valid_[v]] = cls_[v];
      block.band(1)[valid_[v]] = conf_[v];
      if (style_.stopBand) block.band(2)[valid_[v]] = stop_[v];
    }
    infer_ += since(t0);

    t0 = Clock::now();
    writePart(partPath(paths_.parts(), grid.name, w), grid, block);
    write_ += since(t0);
    pixels_ += static_cast<std::int64_t>(n);
    validPixels_ += nv;

    t0 = Clock::now();
    tally(block);
    other_ += since(t0);
  }

  // Count the votes and accuracy of a unit finished before a resume, from its part.
  void recount(const WorkUnit& u) override {
    if (!parcels_ && !accuracy_) return;
    const TileGrid& grid = cube_.tiles()[static_cast<size_t>(u.tile)];
    auto t0 = Clock::now();
    BlockMap block = readPart(partPath(paths_.parts(), grid.name, u.window()), u.window(), style_.bands());
    readLayers(grid.name, u.window());
    read_ += since(t0);
    t0 = Clock::now();
    tally(block);
    other_ += since(t0);
  }

  void finish(const Comm& comm, const PassResult& result) override {
    report_.imbalance = result.load.imbalance();
    report_.loadText = result.load.text();
    assemble(comm);
    auto t0 = Clock::now();
    if (parcels_) {
      const auto summaries = reduceParcelVotes(*votes_, comm.raw(), 0);
      if (comm.root()) {
        std::vector<MappedTile> maps;
        for (const auto& t : cube_.tiles()) maps.push_back({t, mapPath(t)});
        const ParcelFileCounts pc = writeParcelFile(cfg_.labels, summaries, style_.classNames, paths_.parcels(), maps);
        report_.parcels = pc.written;
        log::info("predict: ", paths_.parcels(), ": ", pc.written, " parcels on the mapped tiles: ", pc.voted,
                  " classed by their labelled pixels, ", pc.touched,
                  " (eroded away, smaller than a pixel, ignored or unknown code) by the pixels they touch, ", pc.none,
                  " without a mapped pixel (pred_class null)");
        if (pc.voted < static_cast<std::int64_t>(summaries.size()))
          log::warn("predict: ", summaries.size() - static_cast<size_t>(pc.voted),
                    " parcel ids of the cube were not found in ", cfg_.labels.parcels);
      }
    }
    if (accuracy_) {
      comm.sumInPlace(confusion_->counts(), "predict: test-split confusion matrix");
      const auto r = scoreConfusion(*confusion_);
      report_.testPixels = r.samples;
      report_.testAccuracy = r.overallAccuracy;
    }
    const std::int64_t testMissing = comm.sum(testWithoutPrediction_, "predict: test pixels without prediction");
    other_ += since(t0);

    report_.pixels = comm.sum(pixels_, "predict: pixels");
    report_.validPixels = comm.sum(validPixels_, "predict: pixels with data");
    report_.read = comm.sum(read_, "predict: read time");
    report_.infer = comm.sum(infer_, "predict: inference time");
    report_.write = comm.sum(write_, "predict: write time");
    report_.other = comm.sum(other_, "predict: other time");
    report_.parcels = comm.bcast(report_.parcels, "predict: parcels written");
    if (comm.root()) writeSummary(comm, testMissing);
    comm.barrier("predict: complete");
  }

  void stop(const Comm&) override { cube_.close(); }

  PredictReport& report() { return report_; }

 private:
  std::string mapPath(const TileGrid& t) const { return (fs::path(paths_.maps()) / (t.name + ".tif")).string(); }
  std::string pngPath(const TileGrid& t) const { return (fs::path(paths_.maps()) / (t.name + ".png")).string(); }
  std::string manifestPath() const { return (fs::path(paths_.parts()) / "manifest.txt").string(); }
  std::string completePath() const { return (fs::path(paths_.maps()) / ".predict-complete").string(); }
  std::string completeMarker() const { return completeText(manifest_, cfg_, parcels_, options_); }

  // Rank 0 decides and touches the file system: 1 when the outputs are
  // complete for this model and cube (--resume); otherwise the parts are
  // reused (--resume with the same manifest) or cleared, and plan.done says
  // which units have a part.
  int startOrResume(UnitPlan& plan) {
    bool mapsThere = true;
    for (const auto& t : cube_.tiles())
      mapsThere = mapsThere && fs::exists(mapPath(t)) && fs::exists(qmlPath(mapPath(t))) &&
                  fs::exists(clearPath(paths_.maps(), t.name));
    if (options_.resume && slurp(completePath()) == completeMarker() && mapsThere &&
        (!parcels_ || fs::exists(paths_.parcels())))
      return 1;
    fs::remove(completePath());
    const bool reuse = options_.resume && slurp(manifestPath()) == manifest_;
    if (options_.resume && !reuse && fs::exists(paths_.parts()))
      log::warn("predict: the parts in ", paths_.parts(), " were made by another model or cube; starting over");
    if (!reuse) {
      fs::remove_all(paths_.parts());
      // Outputs of an earlier run must not pass for this run's if it fails.
      for (const auto& t : cube_.tiles()) {
        gdal::removeFile(mapPath(t));
        gdal::removeFile(pngPath(t));
        gdal::removeFile(clearPath(paths_.maps(), t.name));
        fs::remove(qmlPath(mapPath(t)));
      }
      fs::remove(paths_.parcels());
      fs::remove(paths_.summary());
    }
    // Temporary files of a killed run (never under a final name) go too.
    if (fs::exists(paths_.maps()))
      for (const auto& e : fs::directory_iterator(paths_.maps()))
        if (e.path().filename().string().rfind(".tmp-", 0) == 0) fs::remove(e.path());
    fs::create_directories(paths_.parts());
    writeTextAtomically(manifestPath(), manifest_);
    for (size_t i = 0; i < plan.units.size(); ++i) {
      const auto& u = plan.units[i];
      plan.done[i] = fs::exists(partPath(paths_.parts(), cube_.tiles()[static_cast<size_t>(u.tile)].name, u.window()));
    }
    return 0;
  }

  void readLayers(const std::string& tile, const Window& w) {
    const size_t n = static_cast<size_t>(w.pixels());
    if (parcels_) {
      parcel_.resize(n);
      cube_.readLayer<std::int64_t>(tile, "parcel", w, parcel_.data());
    }
    if (accuracy_) {
      label_.resize(n);
      split_.resize(n);
      cube_.readLayer<std::int16_t>(tile, "label", w, label_.data());
      cube_.readLayer<std::uint8_t>(tile, "split", w, split_.data());
    }
  }

  void tally(const BlockMap& block) {
    const size_t n = static_cast<size_t>(block.window.pixels());
    if (parcels_) votes_->add(parcel_.data(), block.band(0), block.band(1), n, kNoData);
    if (!accuracy_) return;
    const int k = confusion_->classes();
    for (size_t i = 0; i < n; ++i) {
      const std::uint8_t c = block.band(0)[i];
      if (split_[i] != kTestSplit || label_[i] < 0 || label_[i] >= k) continue;
      if (c == kNoData || c >= k) {
        ++testWithoutPrediction_;
        continue;
      }
      confusion_->add(label_[i], c);
    }
  }

  // Tile t is assembled from its parts on rank t mod size, once every part is on disk.
  void assemble(const Comm& comm) {
    comm.barrier("predict: parts written");
    const auto t0 = Clock::now();
    for (size_t t = 0; t < cube_.tiles().size(); ++t) {
      if (static_cast<int>(t % static_cast<size_t>(comm.size())) != comm.rank()) continue;
      const TileGrid& grid = cube_.tiles()[t];
      std::vector<std::pair<Window, std::string>> parts;
      for (const auto& u : units_)
        if (u.tile == static_cast<int>(t)) parts.emplace_back(u.window(), partPath(paths_.parts(), grid.name, u.window()));
      assembleTile(grid, parts, style_, mapPath(grid));
      writeQml(mapPath(grid), style_);
      writeClearLayer(cube_, grid, style_, clearPath(paths_.maps(), grid.name));
      if (options_.quicklooks && cfg_.predict.quicklook_size > 0)
        writeQuicklook(mapPath(grid), pngPath(grid), cfg_.predict.quicklook_size, style_);
      log::debug("predict: wrote ", mapPath(grid));
    }
    write_ += since(t0);
  }

  void writeSummary(const Comm& comm, std::int64_t testMissing) {
    const ModelInfo& model = classifier_->info();
    if (options_.summary) {
      json::Object o;
      o.field("model", model.path).field("model_type", model.name).field("cube", paths_.cube)
          .raw("maps", json::list(report_.maps))
          .field("parcels_file", parcels_ ? paths_.parcels() : std::string())
          .field("parcels", static_cast<long long>(report_.parcels))
          .field("units", static_cast<long long>(report_.units))
          .field("units_resumed", static_cast<long long>(report_.unitsSkipped))
          .field("pixels", static_cast<long long>(report_.pixels))
          .field("valid_pixels", static_cast<long long>(report_.validPixels))
          .field("ranks", comm.size()).field("threads", cfg_.threads())
          .field("wall_s", report_.wall).field("read_s", report_.read).field("inference_s", report_.infer)
          .field("write_s", report_.write).field("imbalance", report_.imbalance);
      if (accuracy_)
        o.raw("test_split", json::Object()
                                .field("pixels", static_cast<long long>(report_.testPixels))
                                .field("pixels_without_prediction", static_cast<long long>(testMissing))
                                .field("overall_accuracy", report_.testAccuracy)
                                .text());
      writeTextAtomically(paths_.summary(), o.text() + "\n");
    }
    writeTextAtomically(completePath(), completeMarker());
    fs::remove_all(paths_.parts());
  }

  const Config& cfg_;
  const PredictPaths& paths_;
  const PredictOptions& options_;
  Classifier* classifierOverride_;
  std::unique_ptr<Classifier> owned_;
  Classifier* classifier_ = nullptr;
  Cube cube_;
  MapStyle style_;
  bool parcels_ = false, accuracy_ = false;
  std::string manifest_;
  std::vector<WorkUnit> units_;
  PredictReport report_;
  std::unique_ptr<ParcelVotes> votes_;
  std::unique_ptr<ConfusionMatrix> confusion_;
  std::int64_t pixels_ = 0, validPixels_ = 0, testWithoutPrediction_ = 0;
  double read_ = 0, infer_ = 0, write_ = 0, other_ = 0;
  std::vector<std::uint16_t> refl_;
  std::vector<float> x_;
  std::vector<size_t> valid_;
  std::vector<std::uint8_t> cls_, conf_, stop_;
  std::vector<std::int64_t> parcel_;
  std::vector<std::int16_t> label_;
  std::vector<std::uint8_t> split_;
};

}  // namespace

PredictReport runPredict(const Config& cfg, const PredictPaths& paths, const PredictOptions& options, MPI_Comm raw,
                         Classifier* classifier) {
  const auto start = Clock::now();
  const Comm comm(raw);
  PredictStage stage(cfg, paths, options, classifier);
  const PassResult result = runBlockStage(stage, comm);
  PredictReport report = stage.report();
  report.skipped = result.complete;
  report.wall = comm.max(since(start), "predict: wall time");
  return report;
}

// ---- the command ----------------------------------------------------------------

namespace {

int runPredictCommand(CommandContext& ctx) {
  const PredictPaths paths = PredictPaths::fromConfig(ctx.config);
  PredictOptions options;
  options.resume = ctx.resume;
  const PredictReport r = runPredict(ctx.config, paths, options, ctx.comm());
  if (ctx.rank() != 0 || r.skipped) return 0;
  {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.0f", r.wall > 0 ? static_cast<double>(r.pixels) / r.wall : 0.0);
    ctx.summary.push_back({"pixels/s", buf});
    std::snprintf(buf, sizeof buf, "%.2f", r.imbalance);
    ctx.summary.push_back({"imbalance max/mean", buf});
    if (r.testPixels > 0) {
      std::snprintf(buf, sizeof buf, "%.4f", r.testAccuracy);
      ctx.summary.push_back({"map test OA", buf});
    }
  }
  const double busy = r.read + r.infer + r.write + r.other;
  auto share = [&](double v) { return busy > 0 ? 100.0 * v / busy : 0.0; };
  std::printf("cropmap predict: %lld pixels (%lld with data) in %.2f s, %.0f pixels/s; "
              "read %.0f%%, inference %.0f%%, write %.0f%%; imbalance %.2f\n",
              static_cast<long long>(r.pixels), static_cast<long long>(r.validPixels), r.wall,
              r.wall > 0 ? static_cast<double>(r.pixels) / r.wall : 0.0, share(r.read), share(r.infer),
              share(r.write), r.imbalance);
  if (r.testPixels > 0)
    std::printf("map accuracy on the test split: %.4f over %lld labelled pixels\n", r.testAccuracy,
                static_cast<long long>(r.testPixels));
  for (const auto& m : r.maps) std::printf("map      %s\n", m.c_str());
  if (r.parcels > 0) std::printf("parcels  %s (%lld parcels)\n", paths.parcels().c_str(), static_cast<long long>(r.parcels));
  std::printf("summary  %s\n", paths.summary().c_str());
  return 0;
}

}  // namespace

}  // namespace cropmap::mapping

namespace cropmap {

Command predictCommand() {
  Command c;
  c.name = "predict";
  c.summary = "apply the trained model to the cube: crop maps per tile, quick-looks, parcel GeoPackage";
  c.description =
      "Classifies every pixel of <run.output>/cube.h5 with predict.model (default the best model of\n"
      "training) under MPI, block by block. Writes <run.output>/maps/<tile>.tif (band 1 class with colour\n"
      "table and class names, band 2 confidence = max posterior x 255, band 3 earlyrnn's stopping period;\n"
      "255 = no data) as Cloud-Optimized GeoTIFFs with a QGIS style <tile>.qml, <tile>_clear.tif (clear\n"
      "observations per pixel summed over the periods), <tile>.png quick-looks, <run.output>/parcels.gpkg (per parcel majority class, share,\n"
      "mean confidence) and <run.output>/predict_summary.json (incl. map accuracy on the test split).\n"
      "--resume continues after an interruption, skipping the blocks already written.";
  c.run = mapping::runPredictCommand;
  return c;
}

}  // namespace cropmap

