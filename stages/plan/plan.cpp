#include "plan.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>

#include "pipeline/json.hpp"
#include "pipeline/memory.hpp"
#include "pipeline/mpi.hpp"
#include "pipeline/period_axis.hpp"
#include "pipeline/registry.hpp"

namespace cropmap::plan {

namespace {

std::map<std::string, double> perModel(const json::Value& doc, const std::string& key) {
  std::map<std::string, double> out;
  if (const json::Value* v = doc.find(key))
    for (const auto& [model, rate] : v->members()) out[model] = rate.number();
  return out;
}

double modelRate(const std::map<std::string, double>& rates, const std::string& model, const Rates& r,
                 const char* what) {
  const auto it = rates.find(model);
  const ModelKind* kind = findModel(model);
  if ((it == rates.end() || it->second <= 0) && kind && kind->engine != "torch")
    throw UsageError(r.source + ": no " + std::string(what) + " rate for model '" + model + "': `cropmap bench all` " +
                     "measures the LibTorch models only; plan with one of them (--set train.model=...)");
  if (it == rates.end() || it->second <= 0)
    throw UsageError(r.source + ": no " + std::string(what) + " rate for model '" + model +
                     "'; run `cropmap bench all` (or `--model " + model + "`) on this machine first");
  return it->second;
}

// Parallel efficiency at `ranks` from the measured points: the nearest measured rank
// count at or below, 1 when nothing was measured.
double efficiency(const Rates& r, int ranks) {
  double e = 1;
  for (const auto& [n, eff] : r.compositeEfficiency)
    if (n <= ranks) e = eff;
  return std::clamp(e, 0.05, 1.0);
}

std::string sci(double v, const char* unit) {
  char b[64];
  std::snprintf(b, sizeof b, "%.3g %s", v, unit);
  return b;
}

std::string hours(double s) {
  char b[32];
  if (s < 120) std::snprintf(b, sizeof b, "%.0f s", s);
  else if (s < 7200) std::snprintf(b, sizeof b, "%.1f min", s / 60);
  else std::snprintf(b, sizeof b, "%.1f h", s / 3600);
  return b;
}

}  // namespace

Rates readRates(const std::string& path) {
  if (!std::filesystem::is_regular_file(path))
    throw UsageError("--rates " + path + ": no such file; run `cropmap bench all` on the target machine to write it");
  const json::Value doc = json::parseFile(path);
  Rates r;
  r.source = path;
  r.compositeObservationsPerS = doc.numberOr("composite_observations_per_s", 0);
  if (r.compositeObservationsPerS <= 0)
    throw UsageError(path + ": no composite_observations_per_s; it is not the JSON of `cropmap bench all`");
  r.cubeWriteBytesPerS = doc.numberOr("cube_write_bytes_per_s", 0);
  r.trainSamplesPerS = perModel(doc, "train_samples_per_s");
  r.predictPixelsPerS = perModel(doc, "predict_pixels_per_s");
  if (const json::Value* v = doc.find("composite_efficiency"))
    for (const auto& [n, e] : v->members()) r.compositeEfficiency[std::stoi(n)] = e.number();
  r.otherStagesShare = doc.numberOr("other_stages_share", r.otherStagesShare);
  return r;
}

Projection project(const Config& cfg, const Rates& rates, const Shape& shape) {
  if (shape.nodes < 1 || shape.ranksPerNode < 1) throw UsageError("plan: --nodes and --ranks-per-node must be >= 1");
  Projection p;
  const int ranks = shape.nodes * shape.ranksPerNode;
  std::vector<std::string> tiles = cfg.inputs.tiles;
  if (cfg.synth.enabled) tiles = cfg.synth.tiles;
  if (tiles.empty())
    throw UsageError("plan: key 'inputs.tiles' is empty; list the tiles of the run so that plan can count them");
  p.tiles = static_cast<int>(tiles.size());
  const double side = shape.tilePixels > 0 ? shape.tilePixels : cfg.synth.enabled ? cfg.synth.size : 10980;
  p.tilePixels = side * side;
  p.scenesPerTile = shape.scenesPerTile > 0 ? shape.scenesPerTile : kAverageScenesPerTile;
  if (shape.scenesPerTile <= 0)
    p.assumptions.push_back("scenes per tile: the documented average " + std::to_string(kAverageScenesPerTile) +
                            " (the archive was not read; --scenes-per-tile sets it)");
  p.bands = static_cast<int>(cfg.inputs.bands.size());
  p.periods = PeriodAxis::fromConfig(cfg.composite).size();
  const int outBands = p.bands + static_cast<int>(cfg.composite.indices.size());
  const double pixels = p.tiles * p.tilePixels;
  const double fs = shape.fsBytesPerS;

  auto row = [&](const std::string& stage, const std::string& work, double rankSeconds, double eff, double in,
                 double out, double memory) {
    StageRow r;
    r.stage = stage;
    r.work = work;
    r.coreHours = rankSeconds / 3600.0;
    r.wallSeconds = rankSeconds / (ranks * eff);
    r.bytesIn = in;
    r.bytesOut = out;
    r.ioSeconds = (in + out) / fs;
    r.memoryPerRank = memory;
    // I/O bounds the stage once compute at n nodes is faster than the file system.
    const double perNode = rankSeconds / (shape.ranksPerNode * eff);
    r.ioBoundFromNodes = r.ioSeconds > 0 ? static_cast<int>(std::ceil(perNode / r.ioSeconds)) : 0;
    if (r.ioBoundFromNodes > 100000) r.ioBoundFromNodes = 0;
    r.wallSeconds = std::max(r.wallSeconds, r.ioSeconds);
    p.rows.push_back(r);
  };

  // composite: every observation decoded, masked, composited; the cube written.
  const double observations = pixels * p.scenesPerTile * p.bands;
  const double inBytes = pixels * p.scenesPerTile * (2.0 * p.bands + 1);  // decoded bands + SCL
  const double cubeBytes = pixels * p.periods * (2.0 * outBands + 1);     // reflectance + clear counts
  const double block = cfg.composite.block_size;
  const double scenesInPeriod = std::ceil(static_cast<double>(p.scenesPerTile) / std::max(1, p.periods)) * 2;
  const double compositeMemory = block * block * (scenesInPeriod * (2 * p.bands + 1) + p.periods * (2 * outBands + 1) + 3) +
                                 MemoryBudget(cfg.compute.memory_mb).gdalCacheBytes();
  double compositeSeconds = observations / rates.compositeObservationsPerS;
  if (rates.cubeWriteBytesPerS <= 0)
    p.assumptions.push_back("cube writing is inside the measured composite rate");
  row("composite", sci(observations, "observations"), compositeSeconds, efficiency(rates, ranks), inBytes, cubeBytes,
      compositeMemory);

  // train: samples x epochs at the measured per-rank rate of the configured model.
  const std::string model = cfg.train.model;
  const double trainRate = modelRate(rates.trainSamplesPerS, model, rates, "train");
  const double samples = static_cast<double>(cfg.sample.train_size) * cfg.train.epochs;
  const double sampleBytes = static_cast<double>(cfg.sample.train_size) * p.periods * outBands * 4;
  row("train", sci(samples, "samples"), samples / trainRate, 1.0, sampleBytes, 0, 3 * sampleBytes / ranks + 256e6);
  if (shape.gpus > 0)
    p.assumptions.push_back("training projected on CPU ranks: GPU rates are not measured on this machine");

  // predict: every pixel of every tile through the model; class + confidence maps out.
  const std::string predictModel = cfg.predict.model.empty() ? model : cfg.predict.model;
  const double predictRate = modelRate(rates.predictPixelsPerS, predictModel, rates, "predict");
  row("predict", sci(pixels, "pixels"), pixels / predictRate, efficiency(rates, ranks), cubeBytes, pixels * 2.0,
      block * block * (p.periods * outBands * 4.0 * 2 + 8) + MemoryBudget(cfg.compute.memory_mb).gdalCacheBytes());

  // labels, split, sample, evaluate: a measured share of composite + predict.
  const double rest = (compositeSeconds + pixels / predictRate) * rates.otherStagesShare;
  row("other", "labels, split, sample, evaluate", rest, efficiency(rates, ranks), cubeBytes * 0.1, pixels * 3.0,
      block * block * 16.0);

  for (const auto& r : p.rows) {
    p.wallSeconds += r.wallSeconds;
    if (p.bound.empty() || r.wallSeconds > std::find_if(p.rows.begin(), p.rows.end(), [&](const StageRow& x) {
                                              return x.stage == p.bound;
                                            })->wallSeconds)
      p.bound = r.stage;
  }
  return p;
}

std::string formatTable(const Projection& p, const Shape& shape) {
  std::string t;
  char b[256];
  std::snprintf(b, sizeof b,
                "plan: %d tile(s) x %.0f px, %d scenes per tile, %d bands, %d periods on %d node(s) x %d rank(s)\n",
                p.tiles, p.tilePixels, p.scenesPerTile, p.bands, p.periods, shape.nodes, shape.ranksPerNode);
  t += b;
  std::snprintf(b, sizeof b, "  %-10s %-26s %11s %11s %11s %11s %11s %9s\n", "stage", "work", "core-hours", "wall",
                "mem/rank", "bytes in", "bytes out", "I/O from");
  t += b;
  for (const auto& r : p.rows) {
    const std::string from = r.ioBoundFromNodes ? std::to_string(r.ioBoundFromNodes) + " nodes" : "-";
    std::snprintf(b, sizeof b, "  %-10s %-26s %11.2f %11s %11s %11s %11s %9s\n", r.stage.c_str(), r.work.c_str(),
                  r.coreHours, hours(r.wallSeconds).c_str(), formatBytes(r.memoryPerRank).c_str(),
                  formatBytes(r.bytesIn).c_str(), formatBytes(r.bytesOut).c_str(), from.c_str());
    t += b;
  }
  std::snprintf(b, sizeof b, "  total wall %s; bound by %s; file system %.3g GB/s\n", hours(p.wallSeconds).c_str(),
                p.bound.c_str(), shape.fsBytesPerS / 1e9);
  t += b;
  for (const auto& a : p.assumptions) t += "  assumed: " + a + "\n";
  return t;
}

std::string toJson(const Projection& p, const Shape& shape) {
  std::string rows = "[";
  for (const auto& r : p.rows) {
    rows += (rows.size() > 1 ? ", " : "") + json::Object()
                                                .field("stage", r.stage)
                                                .field("work", r.work)
                                                .field("core_hours", r.coreHours)
                                                .field("wall_s", r.wallSeconds)
                                                .field("memory_per_rank_bytes", r.memoryPerRank)
                                                .field("bytes_in", r.bytesIn)
                                                .field("bytes_out", r.bytesOut)
                                                .field("io_s", r.ioSeconds)
                                                .field("io_bound_from_nodes", r.ioBoundFromNodes)
                                                .text();
  }
  rows += "]";
  return json::object({{"nodes", json::num(shape.nodes)},
                       {"ranks_per_node", json::num(shape.ranksPerNode)},
                       {"tiles", json::num(p.tiles)},
                       {"tile_pixels", json::num(p.tilePixels)},
                       {"scenes_per_tile", json::num(p.scenesPerTile)},
                       {"wall_s", json::num(p.wallSeconds)},
                       {"bound_by", json::str(p.bound)},
                       {"stages", rows},
                       {"assumptions", json::list(p.assumptions)}});
}

}  // namespace cropmap::plan
