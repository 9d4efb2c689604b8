#include "predict.hpp"

#include <boost/program_options.hpp>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "inference.hpp"
#include "kernels/metrics.hpp"
#include "map_writer.hpp"
#include "parcel_votes.hpp"
#include "pipeline/cube.hpp"
#include "pipeline/gdal_io.hpp"
#include "pipeline/legend.hpp"
#include "pipeline/log.hpp"
#include "pipeline/mpi.hpp"
#include "pipeline/progress.hpp"
#include "scheduler/mpi_scheduler.hpp"
#include "pipeline/json.hpp"
#include "stages/train/train.hpp"

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
  p.cube = (fs::path(c.run.output) / "cube.h5").string();
  p.model = c.predict.model.empty() ? (fs::path(trainOutputDir(c)) / "model.pt").string() : c.predict.model;
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
    const Legend legend = Legend::load(cfg.labels.legend);
    // Colours follow the class names, so a model trained on another legend keeps sensible colours.
    for (size_t i = 0; i < k; ++i)
      for (const auto& c : legend.classes)
        if (c.name == s.classNames[i]) s.colours[i] = c.colour;
  }
  return s;
}

std::string fileIdentity(const std::string& path) {
  std::error_code ec;
  const auto size = fs::file_size(path, ec);
  const auto time = fs::last_write_time(path, ec).time_since_epoch().count();
  return fs::absolute(path).string() + " size " + std::to_string(size) + " mtime " + std::to_string(time);
}

// What the parts were made from; parts from anything else are not reused.
// The cube is identified by the configuration it was composited with, so a
// cube rebuilt under the same path invalidates the parts too.
std::string manifestText(const PredictPaths& paths, const ModelInfo& model, const Cube& cube, int block) {
  std::uint64_t h = 1469598103934665603ULL;  // FNV-1a
  for (unsigned char ch : cube.layout().configYaml) h = (h ^ ch) * 1099511628211ULL;
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
  m << manifest << "format: " << cfg.predict.format << " " << cfg.predict.compress << "\n"
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

void writeTextAtomically(const std::string& path, const std::string& text) {
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp);
    out << text;
    out.close();
    if (!out) throw std::runtime_error("cannot write " + tmp);
  }
  fs::rename(tmp, path);
}

int bcastInt(int v, MPI_Comm comm) {
  CROPMAP_MPI(MPI_Bcast(&v, 1, MPI_INT, 0, comm));
  return v;
}

// The per-unit work and what it accumulates on this rank.
class UnitWorker {
 public:
  UnitWorker(Cube& cube, Classifier& classifier, const MapStyle& style, const PredictPaths& paths, int batch,
             bool parcels, bool accuracy)
      : cube_(cube),
        classifier_(classifier),
        style_(style),
        paths_(paths),
        batch_(batch),
        parcels_(parcels),
        accuracy_(accuracy),
        votes_(static_cast<int>(style.classNames.size())),
        confusion_(static_cast<int>(style.classNames.size())) {}

  // Classify one unit and write its part.
  void run(const WorkUnit& u) {
    const TileGrid& grid = cube_.tiles()[static_cast<size_t>(u.tile)];
    const Window w{u.row0, u.col0, u.rows, u.cols};
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
    if (nv > 0) classifier_.classify(x_.data(), nv, batch_, cls_.data(), conf_.data(), stop_.data());
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
  void recount(const WorkUnit& u) {
    if (!parcels_ && !accuracy_) return;
    const TileGrid& grid = cube_.tiles()[static_cast<size_t>(u.tile)];
    const Window w{u.row0, u.col0, u.rows, u.cols};
    auto t0 = Clock::now();
    BlockMap block = readPart(partPath(paths_.parts(), grid.name, w), w, style_.bands());
    readLayers(grid.name, w);
    read_ += since(t0);
    t0 = Clock::now();
    tally(block);
    other_ += since(t0);
  }

  ParcelVotes& votes() { return votes_; }
  ConfusionMatrix& confusion() { return confusion_; }
  std::int64_t pixels() const { return pixels_; }
  std::int64_t validPixels() const { return validPixels_; }
  double read_ = 0, infer_ = 0, write_ = 0, other_ = 0;

 private:
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
    if (parcels_) votes_.add(parcel_.data(), block.band(0), block.band(1), n, kNoData);
    if (accuracy_) {
      const int k = confusion_.classes();
      for (size_t i = 0; i < n; ++i) {
        const std::uint8_t c = block.band(0)[i];
        if (split_[i] != kTestSplit || label_[i] < 0 || label_[i] >= k) continue;
        if (c == kNoData || c >= k) {
          ++testWithoutPrediction_;
          continue;
        }
        confusion_.add(label_[i], c);
      }
    }
  }

  Cube& cube_;
  Classifier& classifier_;
  const MapStyle& style_;
  const PredictPaths& paths_;
  int batch_;
  bool parcels_, accuracy_;
  ParcelVotes votes_;
  ConfusionMatrix confusion_;
  std::int64_t pixels_ = 0, validPixels_ = 0;

 public:
  std::int64_t testWithoutPrediction_ = 0;

 private:
  std::vector<std::uint16_t> refl_;
  std::vector<float> x_;
  std::vector<size_t> valid_;
  std::vector<std::uint8_t> cls_, conf_, stop_;
  std::vector<std::int64_t> parcel_;
  std::vector<std::int16_t> label_;
  std::vector<std::uint8_t> split_;
};

double sumOver(double v, MPI_Comm comm) {
  double out = 0;
  CROPMAP_MPI(MPI_Allreduce(&v, &out, 1, MPI_DOUBLE, MPI_SUM, comm));
  return out;
}
std::int64_t sumOver(std::int64_t v, MPI_Comm comm) {
  std::int64_t out = 0;
  CROPMAP_MPI(MPI_Allreduce(&v, &out, 1, MPI_INT64_T, MPI_SUM, comm));
  return out;
}
double maxOver(double v, MPI_Comm comm) {
  double out = 0;
  CROPMAP_MPI(MPI_Allreduce(&v, &out, 1, MPI_DOUBLE, MPI_MAX, comm));
  return out;
}

}  // namespace

PredictReport runPredict(const Config& cfg, const PredictPaths& paths, const PredictOptions& options, MPI_Comm comm,
                         Classifier* classifierOverride) {
  const auto start = Clock::now();
  int rank = 0, size = 1;
  CROPMAP_MPI(MPI_Comm_rank(comm, &rank));
  CROPMAP_MPI(MPI_Comm_size(comm, &size));
  PredictReport report;

  if (!fs::exists(paths.cube))
    throw UsageError(paths.cube + ": no cube; run `cropmap composite` with the same configuration first");
  std::unique_ptr<Classifier> owned;
  if (!classifierOverride) owned = Classifier::load(paths.model, cfg.threads());
  Classifier& classifier = classifierOverride ? *classifierOverride : *owned;
  const ModelInfo& model = classifier.info();

  Cube cube = Cube::open(paths.cube, comm, false);
  if (cube.periods() != model.periods || cube.bands() != model.bands)
    throw UsageError(model.path + " expects " + std::to_string(model.periods) + " periods x " +
                     std::to_string(model.bands) + " bands; " + paths.cube + " has " + std::to_string(cube.periods()) +
                     " x " + std::to_string(cube.bands()));
  if (!model.bandNames.empty() && model.bandNames != cube.layout().bands)
    throw UsageError(model.path + " was trained on other bands than " + paths.cube + " holds");
  const MapStyle style = makeStyle(cfg, model, cube);
  const bool parcels = options.parcels && cfg.predict.parcels && cube.hasLayer("parcel") && !cfg.labels.parcels.empty();
  const bool accuracy = cube.hasLayer("label") && cube.hasLayer("split");
  if (options.parcels && cfg.predict.parcels && !parcels)
    log::warn("predict: no parcel file written: ",
              cfg.labels.parcels.empty() ? "labels.parcels is not set" : "the cube has no parcel layer (run `cropmap labels`)");

  const int block = cfg.composite.block_size;
  std::vector<TileExtent> extents;
  for (const auto& t : cube.tiles()) extents.push_back(TileExtent{t.width, t.height, 1.0});
  const std::vector<WorkUnit> units = makeUnits(extents, block);
  auto mapPath = [&](const TileGrid& t) { return (fs::path(paths.maps()) / (t.name + ".tif")).string(); };
  auto pngPath = [&](const TileGrid& t) { return (fs::path(paths.maps()) / (t.name + ".png")).string(); };
  for (const auto& t : cube.tiles()) report.maps.push_back(mapPath(t));

  // ---- fresh start or resume (rank 0 decides and touches the file system) ----
  const std::string manifest = manifestText(paths, model, cube, block);
  const std::string completeMarker = completeText(manifest, cfg, parcels, options);
  const std::string manifestPath = (fs::path(paths.parts()) / "manifest.txt").string();
  const std::string completePath = (fs::path(paths.maps()) / ".predict-complete").string();
  std::vector<std::uint8_t> done(units.size(), 0);
  int complete = 0;
  if (rank == 0) {
    bool mapsThere = true;
    for (const auto& m : report.maps) mapsThere = mapsThere && fs::exists(m);
    if (options.resume && slurp(completePath) == completeMarker && mapsThere &&
        (!parcels || fs::exists(paths.parcels()))) {
      complete = 1;
    } else {
      fs::remove(completePath);
      const bool reuse = options.resume && slurp(manifestPath) == manifest;
      if (options.resume && !reuse && fs::exists(paths.parts()))
        log::warn("predict: the parts in ", paths.parts(), " were made by another model or cube; starting over");
      if (!reuse) {
        fs::remove_all(paths.parts());
        // Outputs of an earlier run must not pass for this run's if it fails.
        for (const auto& t : cube.tiles()) {
          gdal::removeFile(mapPath(t));
          gdal::removeFile(pngPath(t));
        }
        fs::remove(paths.parcels());
        fs::remove(paths.summary());
      }
      // Temporary files of a killed run (never under a final name) go too.
      if (fs::exists(paths.maps()))
        for (const auto& e : fs::directory_iterator(paths.maps()))
          if (e.path().filename().string().rfind(".tmp-", 0) == 0) fs::remove(e.path());
      fs::create_directories(paths.parts());
      writeTextAtomically(manifestPath, manifest);
      for (size_t i = 0; i < units.size(); ++i) {
        const auto& u = units[i];
        done[i] = fs::exists(partPath(paths.parts(), cube.tiles()[static_cast<size_t>(u.tile)].name,
                                      Window{u.row0, u.col0, u.rows, u.cols}));
      }
    }
  }
  if (bcastInt(complete, comm)) {
    log::info("predict: complete for this model and cube (", completePath, "); nothing to do (--resume)");
    report.skipped = true;
    report.wall = since(start);
    return report;
  }
  CROPMAP_MPI(MPI_Bcast(done.data(), static_cast<int>(done.size()), MPI_UINT8_T, 0, comm));
  const std::vector<WorkUnit> pending = pendingUnits(units, done);
  report.units = static_cast<std::int64_t>(units.size());
  report.unitsSkipped = report.units - static_cast<std::int64_t>(pending.size());
  log::info("predict: ", model.name, " model ", model.path, " on ", cube.tiles().size(), " tiles, ", units.size(),
            " units of ", block, " px", report.unitsSkipped ? ", " + std::to_string(report.unitsSkipped) + " done before" : "",
            "; ", size, " ranks x ", cfg.threads(), " threads");

  // ---- units ----
  UnitWorker worker(cube, classifier, style, paths, cfg.predict.batch_size, parcels, accuracy);
  const auto loopStart = Clock::now();
  {
    // Job-wide progress: every rank counts its finished units in a one-sided counter.
    SharedCounter finished(comm);
    Progress progress("predict", static_cast<std::int64_t>(pending.size()), "blocks", rank == 0);
    auto source = makeUnitSource(cfg.predict.scheduler, pending, comm);
    std::int64_t mine = 0;
    while (auto u = source->next()) {
      try {
        worker.run(*u);
      } catch (const UsageError&) {
        throw;
      } catch (const std::exception& e) {
        throw std::runtime_error("tile " + cube.tiles()[static_cast<size_t>(u->tile)].name + " block (" +
                                 std::to_string(u->row0) + "," + std::to_string(u->col0) + "): " + e.what());
      }
      ++mine;
      finished.fetchAdd(1);
      if (rank == 0) progress.set(finished.read());
    }
    const double busyLoop = since(loopStart);
    if (rank == 0)
      while (finished.read() < static_cast<long long>(pending.size())) {
        progress.set(finished.read());
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
      }
    progress.finish();
    LoadReport load = gatherLoad(busyLoop, mine, comm);
    report.imbalance = load.imbalance();
    report.loadText = load.text();
  }
  for (size_t i = 0; i < units.size(); ++i)
    if (done[i] && static_cast<int>(i % static_cast<size_t>(size)) == rank) worker.recount(units[i]);

  // ---- assembly: tile t on rank t mod size ----
  CROPMAP_MPI(MPI_Barrier(comm));  // every part is on disk
  auto t0 = Clock::now();
  for (size_t t = 0; t < cube.tiles().size(); ++t) {
    if (static_cast<int>(t % static_cast<size_t>(size)) != rank) continue;
    const TileGrid& grid = cube.tiles()[t];
    std::vector<std::pair<Window, std::string>> parts;
    for (const auto& u : units)
      if (u.tile == static_cast<int>(t)) {
        const Window w{u.row0, u.col0, u.rows, u.cols};
        parts.emplace_back(w, partPath(paths.parts(), grid.name, w));
      }
    assembleTile(grid, parts, style, mapPath(grid));
    if (options.quicklooks && cfg.predict.quicklook_size > 0)
      writeQuicklook(mapPath(grid), pngPath(grid), cfg.predict.quicklook_size, style);
    log::debug("predict: wrote ", mapPath(grid));
  }
  worker.write_ += since(t0);

  // ---- parcels and accuracy ----
  t0 = Clock::now();
  if (parcels) {
    const auto summaries = reduceParcelVotes(worker.votes(), comm, 0);
    if (rank == 0) {
      report.parcels = writeParcelFile(cfg.labels, summaries, style.classNames, paths.parcels());
      if (report.parcels < static_cast<std::int64_t>(summaries.size()))
        log::warn("predict: ", summaries.size() - static_cast<size_t>(report.parcels),
                  " parcel ids of the cube were not found in ", cfg.labels.parcels);
    }
  }
  ConfusionMatrix confusion = worker.confusion();
  if (accuracy) {
    auto& counts = confusion.counts();
    CROPMAP_MPI(MPI_Allreduce(MPI_IN_PLACE, counts.data(), static_cast<int>(counts.size()), MPI_INT64_T, MPI_SUM, comm));
    const auto r = scoreConfusion(confusion);
    report.testPixels = r.samples;
    report.testAccuracy = r.overallAccuracy;
  }
  const std::int64_t testMissing = sumOver(worker.testWithoutPrediction_, comm);
  worker.other_ += since(t0);

  report.pixels = sumOver(worker.pixels(), comm);
  report.validPixels = sumOver(worker.validPixels(), comm);
  report.read = sumOver(worker.read_, comm);
  report.infer = sumOver(worker.infer_, comm);
  report.write = sumOver(worker.write_, comm);
  report.other = sumOver(worker.other_, comm);
  report.wall = maxOver(since(start), comm);
  report.parcels = static_cast<std::int64_t>(bcastInt(static_cast<int>(report.parcels), comm));

  // ---- summary and completion ----
  if (rank == 0) {
    if (options.summary) {
      json::Object o;
      o.field("model", model.path).field("model_type", model.name).field("cube", paths.cube)
          .raw("maps", json::list(report.maps))
          .field("parcels_file", parcels ? paths.parcels() : std::string())
          .field("parcels", static_cast<long long>(report.parcels))
          .field("units", static_cast<long long>(report.units))
          .field("units_resumed", static_cast<long long>(report.unitsSkipped))
          .field("pixels", static_cast<long long>(report.pixels))
          .field("valid_pixels", static_cast<long long>(report.validPixels))
          .field("ranks", size).field("threads", cfg.threads())
          .field("wall_s", report.wall).field("read_s", report.read).field("inference_s", report.infer)
          .field("write_s", report.write).field("imbalance", report.imbalance);
      if (accuracy)
        o.raw("test_split", json::Object()
                                .field("pixels", static_cast<long long>(report.testPixels))
                                .field("pixels_without_prediction", static_cast<long long>(testMissing))
                                .field("overall_accuracy", report.testAccuracy)
                                .text());
      writeTextAtomically(paths.summary(), o.text() + "\n");
    }
    writeTextAtomically(completePath, completeMarker);
    fs::remove_all(paths.parts());
  }
  CROPMAP_MPI(MPI_Barrier(comm));
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

Command predictCommand() {
  Command c;
  c.name = "predict";
  c.summary = "apply the trained model to the cube: crop maps per tile, quick-looks, parcel GeoPackage";
  c.description =
      "Classifies every pixel of <run.output>/cube.h5 with predict.model (default the best model of\n"
      "training) under MPI, block by block. Writes <run.output>/maps/<tile>.tif (band 1 class with colour\n"
      "table and class names, band 2 confidence = max posterior x 255, band 3 earlyrnn's stopping period;\n"
      "255 = no data), <tile>.png quick-looks, <run.output>/parcels.gpkg (per parcel majority class, share,\n"
      "mean confidence) and <run.output>/predict_summary.json (incl. map accuracy on the test split).\n"
      "--resume continues after an interruption, skipping the blocks already written.";
  c.run = runPredictCommand;
  return c;
}

}  // namespace cropmap::mapping
