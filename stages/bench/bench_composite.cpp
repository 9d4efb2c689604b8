// bench composite: the median + gap-fill kernel against a streaming memory
// copy measured in the same run, then the whole stage on a synthetic region at
// several rank counts (each a separate `mpiexec -n k cropmap composite` job
// whose figures come back through --stats-json).
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <random>
#include <sstream>

#include "bench.hpp"
#include "pipeline/json.hpp"
#include "kernels/gap_fill.hpp"
#include "kernels/median.hpp"
#include "kernels/spectral.hpp"
#include "pipeline/log.hpp"
#include "pipeline/mpi.hpp"
#include "synthetic_scenes.hpp"

namespace fs = std::filesystem;

namespace cropmap {

namespace {

using Clock = std::chrono::steady_clock;
double since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

// Bytes per second of memcpy over buffers far larger than the caches (read + write counted once).
double copyBandwidth() {
  const size_t n = size_t{256} << 20;
  std::vector<char> a(n, 1), b(n, 0);
  double best = 0;
  for (int rep = 0; rep < 4; ++rep) {
    const auto t0 = Clock::now();
    std::memcpy(b.data(), a.data(), n);
    const double t = since(t0);
    best = std::max(best, static_cast<double>(n) / t);
    a[static_cast<size_t>(rep)] = b[n - 1 - static_cast<size_t>(rep)];  // keep the copies observable
  }
  return best;
}

struct KernelFigures {
  double seconds = 0, observations = 0, bytes = 0;
};

// One block of a year: 12 periods of S scenes, B bands; periodMedian per period then fillGaps.
KernelFigures kernelRun(int scenes, int bands, size_t pixels) {
  const int P = 12;
  std::mt19937 rng(5);
  std::vector<std::uint16_t> obs(static_cast<size_t>(scenes * bands) * pixels);
  std::vector<std::uint8_t> keep(static_cast<size_t>(scenes) * pixels);
  for (auto& v : obs) v = static_cast<std::uint16_t>(rng() % 6000);
  for (auto& k : keep) k = (rng() % 10) < 6;
  std::vector<std::uint16_t> out(static_cast<size_t>(P * bands) * pixels);
  std::vector<std::uint8_t> count(static_cast<size_t>(P) * pixels);
  MedianScratch scratch;
  KernelFigures f;
  int reps = 0;
  const auto t0 = Clock::now();
  do {
    for (int p = 0; p < P; ++p)
      periodMedian({obs.data(), keep.data(), scenes, bands, pixels},
                   {out.data() + static_cast<size_t>(p * bands) * pixels, count.data() + static_cast<size_t>(p) * pixels,
                    kReflectanceFill},
                   scratch);
    fillGaps(out.data(), count.data(), P, bands, pixels, GapMode::linear, kReflectanceFill);
    ++reps;
  } while (since(t0) < 1.0);
  f.seconds = since(t0);
  f.observations = static_cast<double>(reps) * P * scenes * bands * static_cast<double>(pixels);
  // Each observation is a uint16 read once; each scene's mask byte is read once per band.
  f.bytes = f.observations * 2 + static_cast<double>(reps) * P * scenes * static_cast<double>(pixels) * bands;
  return f;
}

}  // namespace

// The synthetic region of `ntiles` tiles (at most 8) of size x size pixels,
// written once per size/layout/tile count below `dir`.
BenchRegion benchRegion(const fs::path& dir, int size, int ntiles, const std::string& layout) {
  if (layout != "geotiff" && layout != "safe") throw UsageError("--layout must be geotiff or safe");
  if (ntiles < 1 || ntiles > 8) throw UsageError("bench: a synthetic region has 1..8 tiles (asked: " + std::to_string(ntiles) + ")");
  BenchRegion r;
  r.layout = layout;
  r.size = size;
  r.dir = dir / ("region_" + layout + "_" + std::to_string(size) + "_" + std::to_string(ntiles));
  const char* names[] = {"33UVP", "33UWP", "33UXP", "33UVQ", "33UWQ", "33UXQ", "33UVR", "33UWR"};
  for (int i = 0; i < ntiles; ++i) r.tiles.push_back(names[i]);
  const auto scenes = synthetic::yearOfScenes(r.tiles, 2022, 0.35, 7);
  r.scenes = static_cast<int>(scenes.size());
  if (!fs::exists(r.dir / "complete")) {
    fs::remove_all(r.dir);
    log::info("bench: writing a synthetic region of ", scenes.size(), " scenes (", size, "x", size, ", ", layout,
              ") to ", r.dir.string());
    synthetic::RegionSpec spec;
    spec.dir = r.dir.string();
    spec.layout = layout;
    spec.size = size;
    for (const auto& s : scenes) synthetic::writeScene(spec, s);
    std::ofstream(r.dir / "complete") << "ok\n";
  }
  return r;
}

// One `mpiexec -n n cropmap composite` job over the region; its --stats-json figures.
json::Value compositeJob(const BenchRegion& region, const fs::path& run, int n, int block, const std::string& mpiexec) {
  fs::remove_all(run);
  fs::create_directories(run);
  const std::string cfgPath = (run / "bench.yaml").string();
  std::ofstream(cfgPath) << "run:\n  name: bench\n  output: " << run.string() << "\n"
                         << "log:\n  level: warn\n"
                         << "inputs:\n  " << (region.layout == "safe" ? "safe" : "geotiff") << ": ["
                         << (region.dir / region.layout).string() << "]\n  bands: [B02, B03, B04, B08]\n"
                         << "composite:\n  year: 2022\n  indices: [NDVI]\n  block_size: " << block << "\n  chunk: 64\n"
                         << "compute:\n  scheduler: dynamic\n";
  const std::string statsPath = (run / "stats.json").string();
  runLine(mpiexec + " -n " + std::to_string(n) + " " + selfExe() + " composite --config " + cfgPath +
          " --stats-json " + statsPath);
  return json::parseFile(statsPath);
}


int benchComposite(CommandContext& ctx) {
  const Config& cfg = ctx.config;
  const fs::path dir = fs::path(cfg.run.output) / "bench" / "composite";
  fs::create_directories(dir);
  const std::string jsonPath =
      ctx.args.count("json") ? ctx.args["json"].as<std::string>() : (dir.parent_path() / "composite.json").string();
  std::vector<std::pair<std::string, std::string>> fields;
  std::ostringstream table;

  // 1. Kernel alone, one core.
  const double copyBw = copyBandwidth();
  const int S = 10, B = 4;
  const size_t N = 256 * 256;
  const KernelFigures k = kernelRun(S, B, N);
  const double obsRate = k.observations / k.seconds, byteRate = k.bytes / k.seconds;
  char buf[256];
  table << "cropmap bench composite\n\n";
  table << "kernel (periodMedian x 12 periods + fillGaps; " << S << " scenes/period, " << B
        << " bands, 256x256 block, 60% clear; one core)\n";
  std::snprintf(buf, sizeof buf, "  %-34s %12.3g obs/s\n", "observations consumed", obsRate);
  table << buf;
  std::snprintf(buf, sizeof buf, "  %-34s %12.3g GB/s\n", "bytes consumed", byteRate / 1e9);
  table << buf;
  std::snprintf(buf, sizeof buf, "  %-34s %12.3g GB/s\n", "memcpy bandwidth (same run)", copyBw / 1e9);
  table << buf;
  std::snprintf(buf, sizeof buf, "  %-34s %11.1f %%  (target >= 25 %%)\n", "kernel / memcpy", 100.0 * byteRate / copyBw);
  table << buf;
  fields.insert(fields.end(), {{"kernel_observations_per_s", json::num(obsRate)},
                           {"kernel_bytes_per_s", json::num(byteRate)},
                           {"memcpy_bytes_per_s", json::num(copyBw)},
                           {"kernel_fraction_of_memcpy", json::num(byteRate / copyBw)},
                           {"kernel_scenes_per_period", json::num(S)},
                           {"kernel_bands", json::num(B)}});

  if (!ctx.args.count("kernel-only")) {
    // 2. A synthetic region, written once per size/layout.
    const int size = ctx.args["size"].as<int>(), ntiles = ctx.args["tiles"].as<int>();
    const int block = ctx.args["block"].as<int>();
    if (block < 16 || block > 10980) throw UsageError("bench composite: --block must be 16..10980 pixels");
    const std::string layout = ctx.args["layout"].as<std::string>();
    const BenchRegion region = benchRegion(dir, size, std::min(ntiles, 8), layout);
    const auto& tiles = region.tiles;
    // 3. One composite job per rank count.
    std::vector<int> ranks;
    {
      std::stringstream ss(ctx.args["ranks"].as<std::string>());
      std::string r;
      while (std::getline(ss, r, ',')) ranks.push_back(std::stoi(r));
    }
    const std::string mpiexec = ctx.args["mpiexec"].as<std::string>();
    table << "\nend to end: " << tiles.size() << " tile(s) of " << size << "x" << size << ", " << region.scenes
          << " scenes (" << layout << "), 4 bands + NDVI, block " << block << ", dynamic scheduler\n";
    table << "  ranks   wall s   Mobs/s  speedup  read/decode  mask+median  interp  write   cropmap share  max/mean\n";
    double wall1 = 0;
    for (int n : ranks) {
      const json::Value stats = compositeJob(region, dir / ("np" + std::to_string(n)), n, block, mpiexec);
      auto st = [&](const char* key) { return stats.at(key).number(); };
      const double wall = st("wall_s");
      if (n == ranks.front()) wall1 = wall * n;  // normalised to one rank
      const double phases = st("read_s") + st("mask_median_s") + st("interpolate_s") + st("write_s");
      const double own = phases > 0 ? (phases - st("read_s")) / phases : 0;
      const double rate = st("observations") / wall;
      std::snprintf(buf, sizeof buf,
                    "  %5d  %7.2f  %7.1f  %7.2f  %10.1f%%  %10.1f%%  %5.1f%%  %4.1f%%  %12.1f%%  %8.3f\n", n, wall,
                    rate / 1e6, wall1 / wall, 100 * st("read_s") / phases, 100 * st("mask_median_s") / phases,
                    100 * st("interpolate_s") / phases, 100 * st("write_s") / phases, 100 * own, st("imbalance"));
      table << buf;
      const std::string p = "np" + std::to_string(n) + "_";
      fields.insert(fields.end(), {{p + "wall_s", json::num(wall)},
                               {p + "observations_per_s", json::num(rate)},
                               {p + "speedup", json::num(wall1 / wall)},
                               {p + "read_s", json::num(st("read_s"))},
                               {p + "mask_median_s", json::num(st("mask_median_s"))},
                               {p + "interpolate_s", json::num(st("interpolate_s"))},
                               {p + "write_s", json::num(st("write_s"))},
                               {p + "cropmap_share", json::num(own)},
                               {p + "imbalance", json::num(st("imbalance"))}});
    }
    table << "  (times are summed over ranks; cropmap share = everything but GDAL read/decode)\n";
    fields.insert(fields.end(), {{"region_size", json::num(size)}, {"region_tiles", json::num(static_cast<double>(tiles.size()))},
                             {"region_scenes", json::num(static_cast<double>(region.scenes))},
                             {"region_layout", json::str(layout)}, {"block_size", json::num(block)}});
  }
  std::cout << table.str();
  {
    const std::string tmp = jsonPath + ".tmp";
    std::ofstream(tmp) << json::object(fields) << "\n";
    fs::rename(tmp, jsonPath);
  }
  std::cout << "\nwritten: " << jsonPath << "\n";
  return 0;
}

}  // namespace cropmap
