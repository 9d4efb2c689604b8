#include "composite.hpp"

#include <gdal_priv.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <functional>
#include <list>
#include <memory>
#include <sstream>
#include <unordered_map>

#include "kernels/gap_fill.hpp"
#include "kernels/median.hpp"
#include "kernels/spectral.hpp"
#include "pipeline/cube.hpp"
#include "pipeline/gdal_io.hpp"
#include "pipeline/identity.hpp"
#include "pipeline/log.hpp"
#include "pipeline/memory.hpp"
#include "pipeline/mpi.hpp"
#include "pipeline/progress.hpp"
#include "scheduler/block_stage.hpp"
#include "stages/catalog/catalog.hpp"

namespace fs = std::filesystem;

namespace cropmap {

namespace {

using Clock = std::chrono::steady_clock;
double since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

// Open GDAL datasets of this rank, least recently used closed first: a rank
// walks the blocks of a tile in order and reads the same files again.
class DatasetCache {
 public:
  explicit DatasetCache(size_t capacity) : capacity_(capacity) {}
  GDALDataset* get(const std::string& path) {
    auto it = index_.find(path);
    if (it != index_.end()) {
      order_.splice(order_.begin(), order_, it->second);
      return it->second->second.get();
    }
    gdal::Dataset ds = gdal::openRaster(path);
    order_.emplace_front(path, std::move(ds));
    index_[path] = order_.begin();
    if (order_.size() > capacity_) {
      index_.erase(order_.back().first);
      order_.pop_back();
    }
    return order_.front().second.get();
  }
  void drop(const std::string& path) {
    auto it = index_.find(path);
    if (it == index_.end()) return;
    order_.erase(it->second);
    index_.erase(it);
  }

 private:
  size_t capacity_;
  std::list<std::pair<std::string, gdal::Dataset>> order_;
  std::unordered_map<std::string, std::list<std::pair<std::string, gdal::Dataset>>::iterator> index_;
};

// Reads the window `w` of the tile grid from a band whose raster may be
// coarser (20 m, 60 m) but nests in the grid (the catalog checked that):
// resampled onto the grid by `how`.
template <class T>
void readOnGrid(GDALDataset* ds, const TileGrid& grid, const Window& w, Resampling how, T* dst, std::vector<T>& tmp,
                const std::string& path) {
  GDALRasterBand* band = ds->GetRasterBand(1);
  const int W = ds->GetRasterXSize(), H = ds->GetRasterYSize();
  const gdal::GeoTransform gt = gdal::geoTransformOf(ds, path);
  const double ratio = grid.geotransform[1] / gt[1];  // 0.5 for a 20 m band on the 10 m grid
  if (ratio == 1.0) {
    gdal::readWindow(band, w.col0, w.row0, w.cols, w.rows, dst, w.cols, w.rows, path);
    return;
  }
  const auto clampTo = [](int v, int n) { return std::clamp(v, 0, n - 1); };
  const auto rs = sourceSpan(w.row0, w.rows, ratio, how), cs = sourceSpan(w.col0, w.cols, ratio, how);
  const int r0 = clampTo(rs[0], H), r1 = clampTo(rs[1], H), c0 = clampTo(cs[0], W), c1 = clampTo(cs[1], W);
  const int rows = r1 - r0 + 1, cols = c1 - c0 + 1;
  tmp.resize(static_cast<size_t>(rows) * static_cast<size_t>(cols));
  gdal::readWindow(band, c0, r0, cols, rows, tmp.data(), cols, rows, path);
  upsample(SourceWindow<T>{tmp.data(), r0, c0, rows, cols}, ratio, w.row0, w.col0, w.rows, w.cols, how, dst);
}

// The settings that must not change between a run and its resumption.
std::string compositeSettings(const Config& c, const Catalog& cat) {
  std::ostringstream os;
  os << "bands:";
  for (const auto& b : cat.bands) os << " " << b;
  os << "; indices:";
  for (const auto& b : c.composite.indices) os << " " << b;
  os << "; scl_keep:";
  for (int k : c.composite.scl_keep) os << " " << k;
  os << "; interpolation: " << c.composite.interpolation << "; resampling: " << c.composite.resampling << "; block_size: " << c.composite.block_size
     << "; chunk: " << c.composite.chunk << "; periods: " << cat.axis.starts.front() << ".." << cat.axis.ends.back()
     << " (" << cat.axis.size() << "); max_reflectance: " << c.inputs.max_reflectance;
  // The scenes themselves: a resume over a changed archive would make a patchwork cube.
  std::string files;
  for (const auto& t : cat.tiles)
    for (const auto& scene : t.scenes)
      for (const auto& [band, f] : scene.bands) files += fileIdentity(f.path) + "\n";
  os << "; scenes: " << cat.scenes() << " (files " << hex64(fnv1a(files)) << ")";
  return os.str();
}

// The compositing of one block: every period's scenes read, masked and
// reduced to medians, gaps filled, indices appended, the block written.
struct Engine {
  const Config& config;
  const Catalog& cat;
  Cube& cube;
  SclKeep keep;
  GapMode gapMode;
  Resampling resampling;  // of 20 m and 60 m bands; the SCL is a class map, always nearest
  int bands, outBands, periods;
  std::vector<std::pair<int, int>> indexPairs;  // (a, b) band rows of (a - b) / (a + b)
  DatasetCache cache{256};
  // Buffers reused across units: sized by the largest block and period.
  std::vector<std::uint16_t> obs, out, tmp16;
  std::vector<std::uint8_t> keepMask, scl, valid, tmp8;
  MedianScratch scratch;
  CompositeStats stats;
  // A scene that fails to read is left out of the block (inputs.on_bad_scene: skip).
  std::function<void(const std::string&)> sceneLeftOut;

  Engine(const Config& c, const Catalog& k, Cube& cb) : config(c), cat(k), cube(cb) {
    keep = SclKeep::of(c.composite.scl_keep);
    gapMode = c.composite.interpolation == "linear" ? GapMode::linear : GapMode::neighbourMean;
    resampling = c.composite.resampling == "bilinear" ? Resampling::bilinear : Resampling::nearest;
    bands = static_cast<int>(k.bands.size());
    periods = k.axis.size();
    auto bandRow = [&](const char* name) {
      return static_cast<int>(std::find(k.bands.begin(), k.bands.end(), name) - k.bands.begin());
    };
    for (const auto& idx : c.composite.indices) {
      if (idx == "NDVI") indexPairs.emplace_back(bandRow("B08"), bandRow("B04"));
      if (idx == "GNDVI") indexPairs.emplace_back(bandRow("B08"), bandRow("B03"));
    }
    outBands = bands + static_cast<int>(indexPairs.size());
  }

  // One scene's block: SCL mask and reflectance of every band into slot k.
  void readScene(const TileCatalog& t, const Scene& s, const Window& w, int slot) {
    const size_t N = static_cast<size_t>(w.pixels());
    scl.resize(N);
    auto t0 = Clock::now();
    const std::string& sclPath = s.bands.at("SCL").path;
    readOnGrid<std::uint8_t>(cache.get(sclPath), t.grid, w, Resampling::nearest, scl.data(), tmp8, sclPath);
    stats.read += since(t0);
    t0 = Clock::now();
    std::uint8_t* k = keepMask.data() + static_cast<size_t>(slot) * N;
    sclMask(scl.data(), N, keep, k);
    stats.maskMedian += since(t0);
    for (int b = 0; b < bands; ++b) {
      const BandFile& f = s.bands.at(cat.bands[static_cast<size_t>(b)]);
      std::uint16_t* dst = obs.data() + (static_cast<size_t>(slot) * bands + b) * N;
      t0 = Clock::now();
      readOnGrid<std::uint16_t>(cache.get(f.path), t.grid, w, resampling, dst, tmp16, f.path);
      stats.read += since(t0);
      t0 = Clock::now();
      maskNoData(dst, N, k);
      toReflectance(dst, N, f.addOffset, f.quantification, dst);
      if (const int limit = config.inputs.max_reflectance; limit > 0) {
        // A corrupt but decodable file decodes to garbage: physically impossible values
        // leave the observation out (every band of it: the keep mask is per scene).
        std::int64_t bad = 0;
        for (size_t i = 0; i < N; ++i)
          if (k[i] && dst[i] > limit) {
            k[i] = 0;
            ++bad;
          }
        if (bad > 0) {
          stats.impossibleValues += bad;
          log::warn("composite: tile ", t.grid.name, " block (", w.row0, ",", w.col0, ") scene ", s.id, " band ",
                    cat.bands[static_cast<size_t>(b)], ": ", bad, " value(s) above inputs.max_reflectance ", limit,
                    " (", f.path, "; a corrupt file?) left out");
        }
      }
      stats.maskMedian += since(t0);
    }
    stats.observations += static_cast<std::int64_t>(N) * bands;
    stats.bytesRead += static_cast<std::int64_t>(N) * (2 * bands + 1);
  }

  void process(const WorkUnit& u) {
    const TileCatalog& t = cat.tiles[static_cast<size_t>(u.tile)];
    const Window w{u.row0, u.col0, u.rows, u.cols};
    const size_t N = static_cast<size_t>(w.pixels());
    size_t maxScenes = 1;
    for (const auto& list : t.byPeriod) maxScenes = std::max(maxScenes, list.size());
    obs.resize(maxScenes * static_cast<size_t>(bands) * N);
    keepMask.resize(maxScenes * N);
    out.assign(static_cast<size_t>(periods) * outBands * N, kReflectanceFill);
    valid.assign(static_cast<size_t>(periods) * N, 0);

    for (int p = 0; p < periods; ++p) {
      int slot = 0;
      for (int k : t.byPeriod[static_cast<size_t>(p)]) {
        const Scene& s = t.scenes[static_cast<size_t>(k)];
        try {
          readScene(t, s, w, slot);
          ++slot;
        } catch (const std::exception& e) {
          const std::string msg = "scene " + s.id + ": " + e.what();
          if (config.inputs.on_bad_scene == "abort") throw std::runtime_error(msg + " (inputs.on_bad_scene is abort)");
          sceneLeftOut(msg + "; the scene is left out of this block");
          ++stats.failedReads;
          for (const auto& [name, f] : s.bands) cache.drop(f.path);
        }
      }
      const auto t0 = Clock::now();
      periodMedian({obs.data(), keepMask.data(), slot, bands, N},
                   {out.data() + static_cast<size_t>(p) * outBands * N, valid.data() + static_cast<size_t>(p) * N,
                    kReflectanceFill},
                   scratch);
      stats.maskMedian += since(t0);
    }
    auto t0 = Clock::now();
    stats.noDataPixels +=
        fillGaps(out.data(), valid.data(), periods, bands, N, gapMode, kReflectanceFill, outBands);
    for (int p = 0; p < periods; ++p) {
      std::uint16_t* base = out.data() + static_cast<size_t>(p) * outBands * N;
      for (size_t i = 0; i < indexPairs.size(); ++i)
        normalizedDifference(base + static_cast<size_t>(indexPairs[i].first) * N,
                             base + static_cast<size_t>(indexPairs[i].second) * N, N,
                             base + (static_cast<size_t>(bands) + i) * N);
    }
    stats.interpolate += since(t0);
    t0 = Clock::now();
    cube.writeReflectance(t.grid.name, w, out.data());
    cube.writeValid(t.grid.name, w, valid.data());
    stats.write += since(t0);
  }
};

// Inputs are read block by block, and a block that covers only part of a
// file's internal tile (a JPEG 2000 tile of a SAFE band, a GeoTIFF tile) makes
// GDAL decode the whole tile; blocks on other ranks decode it again. With
// Sentinel-2's 1024-px JP2 tiles and 512-px blocks every tile is decoded about
// four times. The inputs of the first scene of the first tile tell.
void warnIfBlocksCutFileTiles(const Catalog& cat, const CompositeSection& c) {
  for (const auto& t : cat.tiles) {
    if (t.scenes.empty()) continue;
    double worst = 1.0;
    int fileX = 0, fileY = 0;
    std::string example;
    for (const auto& [band, f] : t.scenes.front().bands) {
      try {
        gdal::Dataset ds = gdal::openRaster(f.path);
        int bx = 0, by = 0;
        ds->GetRasterBand(1)->GetBlockSize(&bx, &by);
        // The file's tile on the cube's 10 m grid (a 20 m band's tile covers twice the pixels).
        const double k = gdal::geoTransformOf(ds.get(), f.path)[1] / t.grid.geotransform[1];
        const int fx = static_cast<int>(std::lround(bx * k)), fy = static_cast<int>(std::lround(by * k));
        const double amp = decodeAmplification(t.grid.width, c.block_size, fx) *
                           decodeAmplification(t.grid.height, c.block_size, fy);
        if (amp > worst) {
          worst = amp;
          fileX = fx;
          fileY = fy;
          example = f.path;
        }
      } catch (const std::exception&) {
        // unreadable files are reported where they are read
      }
    }
    if (worst >= 1.5) {
      const auto round1 = [](double v) { return static_cast<int>(std::lround(v * 10)) / 10.0; };
      const BlockAdvice advice =
          adviseBlockSize(t.grid.width, t.grid.height, fileX, fileY, c.chunk, CompositeSection::kMinBlockSize,
                          CompositeSection::kMaxBlockSize, c.block_size);
      std::ostringstream what;
      what << "composite: composite.block_size " << c.block_size << " cuts the inputs' internal tiles of " << fileX
           << "x" << fileY << " px on the tile grid (e.g. " << example << "), so each is decoded about "
           << round1(worst) << " times; ";
      if (advice.block != 0 && advice.amplification < 1 + 1e-9)
        what << "composite.block_size " << advice.block << " (a multiple of composite.chunk " << c.chunk
             << ") decodes each once";
      else if (advice.block != 0 && advice.amplification < worst - 1e-9)
        what << "no block size composite.chunk " << c.chunk << " allows decodes each once; composite.block_size "
             << advice.block << " decodes each about " << round1(advice.amplification) << " times";
      else
        what << "no block size composite.chunk " << c.chunk << " allows does better";
      log::warn(what.str());
    }
    return;  // one tile tells: a product line is tiled alike
  }
}

// Which scenes made a tile and how their digital numbers became reflectance,
// as attributes of the tile's group: scene_ids, scene_dates, scene_baselines
// (one per scene, by date), scene_boa_add_offset ([scenes x bands] row-major,
// bands in the cube's order) and scene_quantification.
void recordScenes(h5::Group group, const TileCatalog& t, const std::vector<std::string>& bands) {
  std::vector<std::string> ids, dates, baselines;
  std::vector<double> offsets, quantification;
  for (const auto& s : t.scenes) {
    ids.push_back(s.id);
    dates.push_back(s.date);
    baselines.push_back(s.baseline);
    quantification.push_back(s.bands.at(bands.front()).quantification);
    for (const auto& b : bands) offsets.push_back(s.bands.at(b).addOffset);
  }
  group.setAttr("scene_ids", ids);
  group.setAttr("scene_dates", dates);
  group.setAttr("scene_baselines", baselines);
  group.setAttr("scene_boa_add_offset", offsets);
  group.setAttr("scene_quantification", quantification);
}

bool sameLayout(const CubeLayout& a, const CubeLayout& b) {
  return a.periods == b.periods && a.periodEnds == b.periodEnds && a.bands == b.bands &&
         a.bandOffsets == b.bandOffsets && a.chunk == b.chunk && a.fillValue == b.fillValue;
}

// The cube's layout: the catalog's periods and bands, then the indices.
CubeLayout layoutOf(const Config& config, const Catalog& cat) {
  CubeLayout layout;
  layout.periods = cat.axis.starts;
  layout.periodEnds = cat.axis.ends;
  layout.bands = cat.bands;
  layout.bandOffsets.assign(cat.bands.size(), 0.0);
  for (const auto& idx : config.composite.indices) {
    layout.bands.push_back(idx);
    layout.bandOffsets.push_back(-1.0);
  }
  layout.scaleFactor = kReflectanceScale;
  layout.fillValue = kReflectanceFill;
  layout.chunk = config.composite.chunk;
  layout.configYaml = config.yaml();
  return layout;
}

class CompositeStage : public BlockStage {
 public:
  CompositeStage(const Config& config, bool resume) : BlockStage("composite"), config_(config), resume_(resume) {}

  UnitPlan prepare(const Comm& comm) override {
    const auto tCatalog = Clock::now();
    cat_ = buildCatalog(config_, comm.raw());
    catalogSeconds_ = since(tCatalog);
    if (comm.root()) {
      for (const auto& p : cat_.problems) log::warn("skipping input: ", p.text());
      for (const auto& w : cat_.warnings) log::info(w);
    }
    log::info("composite: ", cat_.scenes(), " scenes in ", cat_.tiles.size(), " tile(s), ", cat_.axis.size(),
              " periods, ", comm.size(), " rank(s), scheduler ", config_.compute.scheduler);

    const CubeLayout layout = layoutOf(config_, cat_);
    std::vector<TileGrid> grids;
    std::vector<TileExtent> extents;
    for (const auto& t : cat_.tiles) {
      grids.push_back(t.grid);
      extents.push_back(
          TileExtent{t.grid.width, t.grid.height, std::max<double>(1.0, static_cast<double>(t.scenes.size()))});
    }
    UnitPlan plan;
    plan.units = makeUnits(extents, config_.composite.block_size);
    plan.assignment = assignmentOf(config_.compute.scheduler);
    plan.blockEdge = config_.composite.block_size;
    for (const auto& g : grids) plan.tiles.push_back(g.name);
    if (comm.root()) warnIfBlocksCutFileTiles(cat_, config_.composite);
    checkMemory(layout);

    path_ = cubePath(config_);
    if (comm.root()) fs::create_directories(fs::path(path_).parent_path());
    comm.barrier("composite: output directory");
    const std::string settings = compositeSettings(config_, cat_);
    if (resume_ && openForResume(comm)) {
      checkResumable(layout, grids, settings, plan.units);
      plan.done = cube_.ledgerDone("composite");
      log::info("resuming ", path_, ": ", std::count(plan.done.begin(), plan.done.end(), 1), " of ",
                plan.units.size(), " units already done");
    } else {
      cube_ = Cube::create(path_, comm.raw(), layout, grids);
      cube_.root().setAttr("composite_settings", settings);
      for (const auto& t : cat_.tiles) recordScenes(cube_.tileGroup(t.grid.name), t, cat_.bands);
      cube_.createLedger("composite", plan.units);  // flushes: from here on, block writes are raw data only
    }
    engine_ = std::make_unique<Engine>(config_, cat_, cube_);
    engine_->sceneLeftOut = [this](const std::string& what) { problem(what); };
    tStart_ = Clock::now();
    return plan;
  }

  void process(const WorkUnit& u) override { engine_->process(u); }
  void commit(const WorkUnit& u) override { cube_.markDone("composite", u.index); }
  void stop(const Comm&) override { cube_.close(); }

  void finish(const Comm& comm, const PassResult& result) override {
    cube_.close();
    const CompositeStats& st = engine_->stats;
    std::vector<double> phases{st.read, st.maskMedian, st.interpolate, st.write};
    comm.sumInPlace(phases, "composite: phase times");
    std::vector<std::int64_t> counts{st.observations, st.bytesRead, st.noDataPixels, st.failedReads,
                                     st.impossibleValues};
    comm.sumInPlace(counts, "composite: counts");
    out_.read = phases[0];
    out_.maskMedian = phases[1];
    out_.interpolate = phases[2];
    out_.write = phases[3];
    out_.observations = counts[0];
    out_.bytesRead = counts[1];
    out_.noDataPixels = counts[2];
    out_.failedReads = counts[3];
    out_.impossibleValues = counts[4];
    out_.load = result.load;
    out_.units = result.processed;
    out_.unitsTotal = result.processed + result.resumed;
    out_.catalog = catalogSeconds_;
    out_.cubePath = path_;
    out_.wall = comm.max(since(tStart_), "composite: wall time");
    if (comm.root()) log::info(summary(result));
  }

  const CompositeStats& stats() const { return out_; }

 private:
  // One unit holds every scene of the fullest period (bands and mask), the
  // composite of every period and its counts.
  void checkMemory(const CubeLayout& layout) const {
    std::int64_t maxScenes = 1;
    for (const auto& t : cat_.tiles)
      for (const auto& list : t.byPeriod) maxScenes = std::max<std::int64_t>(maxScenes, static_cast<std::int64_t>(list.size()));
    const std::int64_t B = static_cast<std::int64_t>(cat_.bands.size()), OB = static_cast<std::int64_t>(layout.bands.size()),
                       P = cat_.axis.size();
    MemoryBudget(config_.compute.memory_mb)
        .checkBlock("composite", config_.composite.block_size, config_.composite.chunk, [&](int b) {
          const std::int64_t n = static_cast<std::int64_t>(b) * b;
          return n * (maxScenes * (2 * B + 1) + P * (2 * OB + 1) + 3);
        });
  }

  // The cube of an interrupted run, when its creation finished (it has its
  // settings and ledger). A job killed while creating it leaves a file without
  // them, or one HDF5 cannot open: no unit of it is done, so it is made anew.
  bool openForResume(const Comm& comm) {
    if (!fs::exists(path_)) {
      log::info("nothing to resume at ", path_, "; starting a new cube");
      return false;
    }
    std::string why;
    try {
      cube_ = Cube::open(path_, comm.raw(), true);
      if (!cube_.root().hasAttr("composite_settings") || !cube_.hasLedger("composite"))
        why = "its creation did not finish";
    } catch (const h5::Error& e) {
      why = std::string("it does not open (") + e.what() + ")";
    }
    why = comm.bcast(comm.root() ? why : std::string(), "composite: resume check");
    if (why.empty()) return true;
    if (cube_.file().isOpen()) cube_.close();
    log::warn("composite: ", path_, ": ", why, "; no unit was finished in it, so a new cube is made");
    return false;
  }

  void checkResumable(const CubeLayout& layout, const std::vector<TileGrid>& grids, const std::string& settings,
                      const std::vector<WorkUnit>& units) {
    const auto mismatch = [&](const std::string& what) {
      return UsageError(path_ + ": cannot resume: " + what +
                        " differ from this configuration; run without --resume to start over");
    };
    if (!sameLayout(cube_.layout(), layout)) throw mismatch("the cube's periods, bands or chunking");
    if (cube_.tiles() != grids) throw mismatch("the cube's tiles or their grids");
    if (!cube_.root().hasAttr("composite_settings") || cube_.root().attrString("composite_settings") != settings)
      throw mismatch("the compositing settings (" + settings + ")");
    const auto recorded = cube_.hasLedger("composite") ? cube_.ledgerUnits("composite") : std::vector<WorkUnit>{};
    const bool same = recorded.size() == units.size() &&
                      std::equal(units.begin(), units.end(), recorded.begin(),
                                 [](const WorkUnit& a, const WorkUnit& b) { return a.sameBlock(b); });
    if (!same) throw mismatch("the work units in the ledger");
  }

  std::string summary(const PassResult& result) const {
    std::ostringstream os;
    os << "composite summary: " << out_.units << " of " << out_.unitsTotal << " blocks written to " << path_ << " in "
       << Progress::formatDuration(out_.wall) << " (catalog " << Progress::formatDuration(catalogSeconds_) << ")\n";
    char buf[200];
    const double phaseSum = out_.read + out_.maskMedian + out_.interpolate + out_.write;
    std::snprintf(buf, sizeof buf,
                  "  time over ranks: read/decode %.2f s, mask+median %.2f s, interpolate+indices %.2f s, "
                  "write %.2f s (%.0f%% read)\n",
                  out_.read, out_.maskMedian, out_.interpolate, out_.write,
                  phaseSum > 0 ? 100.0 * out_.read / phaseSum : 0.0);
    os << buf;
    os << "  pixels without any clear observation (left as no data): " << out_.noDataPixels << "\n";
    os << "  input problems skipped: " << cat_.problems.size() << ", failed block reads: " << out_.failedReads
       << ", impossible values left out: " << out_.impossibleValues << "\n";
    for (const auto& p : cat_.problems) os << "    " << p.text() << "\n";
    for (const auto& p : result.problems) os << "    " << p << "\n";
    os << out_.load.text();
    return os.str();
  }

  const Config& config_;
  bool resume_;
  Catalog cat_;
  double catalogSeconds_ = 0;
  std::string path_;
  Cube cube_;
  std::unique_ptr<Engine> engine_;  // after cube_: destroyed first
  Clock::time_point tStart_;
  CompositeStats out_;
};

}  // namespace

CompositeStats runComposite(const Config& config, MPI_Comm comm, bool resume) {
  CompositeStage stage(config, resume);
  runBlockStage(stage, Comm(comm));
  return stage.stats();
}

}  // namespace cropmap
