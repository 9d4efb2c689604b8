#include "composite.hpp"

#include <gdal_priv.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <list>
#include <sstream>
#include <thread>
#include <unordered_map>

#include "kernels/gap_fill.hpp"
#include "kernels/median.hpp"
#include "kernels/spectral.hpp"
#include "pipeline/cube.hpp"
#include "pipeline/gdal_io.hpp"
#include "pipeline/log.hpp"
#include "pipeline/mpi.hpp"
#include "pipeline/progress.hpp"
#include "scheduler/mpi_scheduler.hpp"
#include "stages/catalog/catalog.hpp"

namespace fs = std::filesystem;

namespace cropmap {

std::string cubePath(const Config& config) { return (fs::path(config.run.output) / "cube.h5").string(); }

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
// coarser (20 m, 60 m): nearest neighbour onto the grid.
template <class T>
void readOnGrid(GDALDataset* ds, const TileGrid& grid, const Window& w, T* dst, std::vector<T>& tmp,
                const std::string& path) {
  GDALRasterBand* band = ds->GetRasterBand(1);
  const int W = ds->GetRasterXSize(), H = ds->GetRasterYSize();
  if (W == grid.width && H == grid.height) {
    gdal::readWindow(band, w.col0, w.row0, w.cols, w.rows, dst, w.cols, w.rows, path);
    return;
  }
  const double ratio = static_cast<double>(W) / grid.width;
  auto first = [&](int start) { return static_cast<int>(std::floor((start + 0.5) * ratio)); };
  const int r0 = first(w.row0), r1 = std::min(H - 1, first(w.row0 + w.rows - 1));
  const int c0 = first(w.col0), c1 = std::min(W - 1, first(w.col0 + w.cols - 1));
  const int rows = r1 - r0 + 1, cols = c1 - c0 + 1;
  tmp.resize(static_cast<size_t>(rows) * static_cast<size_t>(cols));
  gdal::readWindow(band, c0, r0, cols, rows, tmp.data(), cols, rows, path);
  upsampleNearest(tmp.data(), cols, r0, c0, ratio, w.row0, w.col0, w.rows, w.cols, dst);
}

struct FaultPlan {
  int rank = -1;
  long long units = 0;
  bool beforeLedger = false;
  static FaultPlan fromEnv() {
    FaultPlan f;
    if (const char* s = std::getenv("CROPMAP_FAULT_KILL")) {
      std::string v = s;
      const auto a = v.find(':');
      if (a == std::string::npos) return f;
      f.rank = std::atoi(v.substr(0, a).c_str());
      const auto b = v.find(':', a + 1);
      f.units = std::atoll(v.substr(a + 1, b == std::string::npos ? std::string::npos : b - a - 1).c_str());
      f.beforeLedger = b != std::string::npos && v.substr(b + 1) == "before_ledger";
    }
    return f;
  }
};

// The settings that must not change between a run and its resumption.
std::string compositeSettings(const Config& c, const Catalog& cat) {
  std::ostringstream os;
  os << "bands:";
  for (const auto& b : cat.bands) os << " " << b;
  os << "; indices:";
  for (const auto& b : c.composite.indices) os << " " << b;
  os << "; scl_keep:";
  for (int k : c.composite.scl_keep) os << " " << k;
  os << "; interpolation: " << c.composite.interpolation << "; block_size: " << c.composite.block_size
     << "; chunk: " << c.composite.chunk << "; periods: " << cat.axis.starts.front() << ".." << cat.axis.ends.back()
     << " (" << cat.axis.size() << ")";
  return os.str();
}

struct Engine {
  const Config& config;
  const Catalog& cat;
  Cube& cube;
  int rank;
  SclKeep keep;
  GapMode gapMode;
  int bands, outBands, periods;
  std::vector<std::pair<int, int>> indexPairs;  // (a, b) band rows of (a - b) / (a + b)
  DatasetCache cache{256};
  // Buffers reused across units: sized by the largest block and period.
  std::vector<std::uint16_t> obs, out, tmp16;
  std::vector<std::uint8_t> keepMask, scl, valid, tmp8;
  MedianScratch scratch;
  CompositeStats stats;
  std::vector<std::string> failures;

  Engine(const Config& c, const Catalog& k, Cube& cb, int r) : config(c), cat(k), cube(cb), rank(r) {
    keep = SclKeep::of(c.composite.scl_keep);
    gapMode = c.composite.interpolation == "linear" ? GapMode::linear : GapMode::neighbourMean;
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

  std::string where(const TileCatalog& t, const WorkUnit& u) const {
    const int b = config.composite.block_size;
    return "composite tile " + t.grid.name + " block (" + std::to_string(u.row0 / b) + "," +
           std::to_string(u.col0 / b) + ")";
  }

  // One scene's block: SCL mask and reflectance of every band into slot k.
  void readScene(const TileCatalog& t, const Scene& s, const Window& w, int slot) {
    const size_t N = static_cast<size_t>(w.pixels());
    scl.resize(N);
    auto t0 = Clock::now();
    const std::string& sclPath = s.bands.at("SCL").path;
    readOnGrid<std::uint8_t>(cache.get(sclPath), t.grid, w, scl.data(), tmp8, sclPath);
    stats.read += since(t0);
    t0 = Clock::now();
    std::uint8_t* k = keepMask.data() + static_cast<size_t>(slot) * N;
    sclMask(scl.data(), N, keep, k);
    stats.maskMedian += since(t0);
    for (int b = 0; b < bands; ++b) {
      const BandFile& f = s.bands.at(cat.bands[static_cast<size_t>(b)]);
      std::uint16_t* dst = obs.data() + (static_cast<size_t>(slot) * bands + b) * N;
      t0 = Clock::now();
      readOnGrid<std::uint16_t>(cache.get(f.path), t.grid, w, dst, tmp16, f.path);
      stats.read += since(t0);
      t0 = Clock::now();
      maskNoData(dst, N, k);
      toReflectance(dst, N, f.addOffset, f.quantification, dst);
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
          const std::string msg = where(t, u) + ": scene " + s.id + ": " + e.what();
          if (config.inputs.on_bad_scene == "abort")
            throw std::runtime_error(msg + " (inputs.on_bad_scene is abort)");
          log::warn(msg, "; the scene is left out of this block");
          failures.push_back(msg);
          ++stats.failedReads;
          for (const auto& [name, f] : s.bands) cache.drop(f.path);
        }
      }
      const auto t0 = Clock::now();
      periodMedian(obs.data(), keepMask.data(), slot, bands, N, out.data() + static_cast<size_t>(p) * outBands * N,
                   valid.data() + static_cast<size_t>(p) * N, kReflectanceFill, scratch);
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
    int footprint = 0;
    std::string example;
    for (const auto& [band, f] : t.scenes.front().bands) {
      try {
        gdal::Dataset ds = gdal::openRaster(f.path);
        int bx = 0, by = 0;
        ds->GetRasterBand(1)->GetBlockSize(&bx, &by);
        const int w = ds->GetRasterXSize(), h = ds->GetRasterYSize();
        if (w <= 0 || h <= 0) continue;
        // The file's tile on the cube's 10 m grid (a 20 m band's tile covers twice the pixels).
        const int fx = static_cast<int>(std::lround(static_cast<double>(bx) * t.grid.width / w));
        const int fy = static_cast<int>(std::lround(static_cast<double>(by) * t.grid.height / h));
        const double amp = decodeAmplification(t.grid.width, c.block_size, fx) *
                           decodeAmplification(t.grid.height, c.block_size, fy);
        if (amp > worst) {
          worst = amp;
          footprint = std::min(std::max(fx, fy), std::max(t.grid.width, t.grid.height));
          example = f.path;
        }
      } catch (const std::exception&) {
        // unreadable files are reported where they are read
      }
    }
    if (worst >= 1.5) {
      int suggest = footprint;
      while (suggest % c.chunk != 0) suggest += footprint;
      log::warn("composite: composite.block_size ", c.block_size, " cuts the inputs' internal tiles of ", footprint,
                " px on the tile grid (e.g. ", example, "), so each is decoded about ",
                static_cast<int>(std::lround(worst * 10)) / 10.0, " times; composite.block_size ", suggest,
                " (a multiple of them and of composite.chunk) decodes each once");
    }
    return;  // one tile tells: a product line is tiled alike
  }
}

bool sameLayout(const CubeLayout& a, const CubeLayout& b) {
  return a.periods == b.periods && a.periodEnds == b.periodEnds && a.bands == b.bands &&
         a.bandOffsets == b.bandOffsets && a.chunk == b.chunk && a.fillValue == b.fillValue;
}

}  // namespace

CompositeStats runComposite(const Config& config, MPI_Comm comm, bool resume) {
  int rank = 0, size = 1;
  CROPMAP_MPI(MPI_Comm_rank(comm, &rank));
  CROPMAP_MPI(MPI_Comm_size(comm, &size));
  const auto tCatalog = Clock::now();
  const Catalog cat = buildCatalog(config, comm);
  const double catalogSeconds = since(tCatalog);
  for (const auto& p : cat.problems) log::warn("skipping input: ", p.text());
  for (const auto& w : cat.warnings) log::info(w);
  log::info("composite: ", cat.scenes(), " scenes in ", cat.tiles.size(), " tile(s), ", cat.axis.size(),
            " periods, ", size, " rank(s), scheduler ", config.composite.scheduler);

  // Layout of the cube.
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
  std::vector<TileGrid> grids;
  std::vector<TileExtent> extents;
  for (const auto& t : cat.tiles) {
    grids.push_back(t.grid);
    extents.push_back(TileExtent{t.grid.width, t.grid.height, std::max<double>(1.0, static_cast<double>(t.scenes.size()))});
  }
  const std::vector<WorkUnit> units = makeUnits(extents, config.composite.block_size);
  if (rank == 0) warnIfBlocksCutFileTiles(cat, config.composite);
  std::vector<LedgerUnit> ledgerUnits;
  for (const auto& u : units) ledgerUnits.push_back(LedgerUnit{u.tile, Window{u.row0, u.col0, u.rows, u.cols}});
  const std::string settings = compositeSettings(config, cat);

  const std::string path = cubePath(config);
  if (rank == 0) fs::create_directories(fs::path(path).parent_path());
  CROPMAP_MPI(MPI_Barrier(comm));
  Cube cube;
  std::vector<std::uint8_t> done;
  const bool exists = fs::exists(path);
  if (resume && exists) {
    cube = Cube::open(path, comm, true);
    const auto mismatch = [&](const std::string& what) {
      return UsageError(path + ": cannot resume: " + what +
                        " differ from this configuration; run without --resume to start over");
    };
    if (!sameLayout(cube.layout(), layout)) throw mismatch("the cube's periods, bands or chunking");
    if (cube.tiles() != grids) throw mismatch("the cube's tiles or their grids");
    if (!cube.root().hasAttr("composite_settings") || cube.root().attrString("composite_settings") != settings)
      throw mismatch("the compositing settings (" + settings + ")");
    if (!cube.hasLedger("composite") || cube.ledgerUnits("composite") != ledgerUnits)
      throw mismatch("the work units in the ledger");
    done = cube.ledgerDone("composite");
    log::info("resuming ", path, ": ", std::count(done.begin(), done.end(), 1), " of ", units.size(),
              " units already done");
  } else {
    if (resume) log::info("nothing to resume at ", path, "; starting a new cube");
    cube = Cube::create(path, comm, layout, grids);
    cube.root().setAttr("composite_settings", settings);
    cube.createLedger("composite", ledgerUnits);  // flushes: from here on, block writes are raw data only
  }
  const std::vector<WorkUnit> pending = pendingUnits(units, done);

  Engine engine(config, cat, cube, rank);
  const FaultPlan fault = FaultPlan::fromEnv();
  const auto tStart = Clock::now();
  double busy = 0;
  std::int64_t mine = 0;
  {
    SharedCounter finished(comm);
    Progress progress("composite", static_cast<std::int64_t>(pending.size()), "blocks", rank == 0);
    {
      auto source = makeUnitSource(config.composite.scheduler, pending, comm);
      while (auto u = source->next()) {
        const auto t0 = Clock::now();
        try {
          engine.process(*u);
        } catch (const h5::Error& e) {
          throw std::runtime_error(engine.where(cat.tiles[static_cast<size_t>(u->tile)], *u) + ": " + e.what());
        }
        ++mine;
        if (fault.rank == rank && fault.beforeLedger && mine == fault.units) std::raise(SIGKILL);
        cube.markDone("composite", u->index);  // only after the unit's data are written
        if (fault.rank == rank && !fault.beforeLedger && mine == fault.units) std::raise(SIGKILL);
        busy += since(t0);
        finished.fetchAdd(1);
        if (rank == 0) progress.set(finished.read());
      }
      // Rank 0 keeps the progress line alive until the other ranks finish.
      if (rank == 0)
        while (finished.read() < static_cast<long long>(pending.size())) {
          progress.set(finished.read());
          std::this_thread::sleep_for(std::chrono::milliseconds(100));
        }
    }
    progress.set(static_cast<std::int64_t>(pending.size()));
    progress.finish();
  }
  cube.close();

  CompositeStats st = engine.stats;
  double phases[4] = {st.read, st.maskMedian, st.interpolate, st.write}, sum[4];
  CROPMAP_MPI(MPI_Allreduce(phases, sum, 4, MPI_DOUBLE, MPI_SUM, comm));
  long long counts[4] = {st.observations, st.bytesRead, st.noDataPixels, st.failedReads}, total[4];
  CROPMAP_MPI(MPI_Allreduce(counts, total, 4, MPI_LONG_LONG, MPI_SUM, comm));
  CompositeStats out;
  out.read = sum[0];
  out.maskMedian = sum[1];
  out.interpolate = sum[2];
  out.write = sum[3];
  out.observations = total[0];
  out.bytesRead = total[1];
  out.noDataPixels = total[2];
  out.failedReads = total[3];
  out.load = gatherLoad(busy, mine, comm);
  out.units = static_cast<std::int64_t>(pending.size());
  out.unitsTotal = static_cast<std::int64_t>(units.size());
  out.catalog = catalogSeconds;
  out.cubePath = path;
  double wall = since(tStart);
  CROPMAP_MPI(MPI_Allreduce(MPI_IN_PLACE, &wall, 1, MPI_DOUBLE, MPI_MAX, comm));
  out.wall = wall;

  // Failed reads of every rank, listed once.
  {
    std::string mineText;
    for (const auto& f : engine.failures) mineText += f + "\n";
    int n = static_cast<int>(mineText.size());
    std::vector<int> lens(static_cast<size_t>(size)), displs(static_cast<size_t>(size));
    CROPMAP_MPI(MPI_Gather(&n, 1, MPI_INT, lens.data(), 1, MPI_INT, 0, comm));
    int all = 0;
    for (int i = 0; i < size; ++i) {
      displs[static_cast<size_t>(i)] = all;
      all += lens[static_cast<size_t>(i)];
    }
    std::string text(static_cast<size_t>(rank == 0 ? all : 0), '\0');
    CROPMAP_MPI(MPI_Gatherv(mineText.data(), n, MPI_CHAR, text.data(), lens.data(), displs.data(), MPI_CHAR, 0, comm));
    if (rank == 0) {
      std::ostringstream os;
      os << "composite summary: " << out.units << " of " << out.unitsTotal << " blocks written to " << path << " in "
         << Progress::formatDuration(out.wall) << " (catalog " << Progress::formatDuration(catalogSeconds) << ")\n";
      char buf[200];
      const double phaseSum = out.read + out.maskMedian + out.interpolate + out.write;
      std::snprintf(buf, sizeof buf,
                    "  time over ranks: read/decode %.2f s, mask+median %.2f s, interpolate+indices %.2f s, "
                    "write %.2f s (%.0f%% read)\n",
                    out.read, out.maskMedian, out.interpolate, out.write,
                    phaseSum > 0 ? 100.0 * out.read / phaseSum : 0.0);
      os << buf;
      os << "  pixels without any clear observation (left as no data): " << out.noDataPixels << "\n";
      os << "  input problems skipped: " << cat.problems.size() << ", failed block reads: " << out.failedReads << "\n";
      for (const auto& p : cat.problems) os << "    " << p.text() << "\n";
      if (!text.empty()) {
        std::istringstream is(text);
        std::string line;
        while (std::getline(is, line)) os << "    " << line << "\n";
      }
      os << out.load.text();
      log::info(os.str());
    }
  }
  return out;
}

}  // namespace cropmap
