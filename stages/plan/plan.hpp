// `cropmap plan`: what a run of a configuration costs on an allocation, from
// per-rank rates measured on the target machine (`cropmap bench all`).
//
// The model is deliberately plain: every stage's work is a count the
// configuration fixes (observations decoded and composited, samples trained,
// pixels predicted), divided by a measured per-rank rate and by the ranks,
// times a parallel efficiency measured by `cropmap bench scaling` where known.
// Bytes in and out are set against a configured file-system bandwidth, which
// gives the node count beyond which I/O bounds the stage.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "pipeline/config.hpp"

namespace cropmap::plan {

// Per-rank rates of one machine, as `cropmap bench all` writes them.
struct Rates {
  std::string source;                             // the file they came from
  double compositeObservationsPerS = 0;           // observations (pixel x scene x band) per rank, incl. decode
  double cubeWriteBytesPerS = 0;                  // per rank, 0: unknown
  std::map<std::string, double> trainSamplesPerS;  // per rank and model
  std::map<std::string, double> predictPixelsPerS;  // per rank and model
  std::map<int, double> compositeEfficiency;      // ranks -> parallel efficiency (bench scaling), may be empty
  double otherStagesShare = 0.1;                   // labels, split, sample, evaluate against composite+predict
};
Rates readRates(const std::string& path);

struct Shape {
  int nodes = 1;
  int ranksPerNode = 1;
  int gpus = 0;                // per node; training is not projected onto GPUs (not measured here)
  double fsBytesPerS = 10e9;   // shared file system bandwidth for the whole job
  int scenesPerTile = 0;       // 0: from the configuration (synth) or the documented average
  int tilePixels = 0;          // 0: from the configuration (synth.size) or a full tile (10980^2)
};

// The documented average when the archive is not reachable: Sentinel-2A/B over a
// tile from two or three relative orbits in a year.
constexpr int kAverageScenesPerTile = 100;

struct StageRow {
  std::string stage;
  std::string work;            // "3.6e12 observations"
  double coreHours = 0;
  double wallSeconds = 0;      // at the shape's ranks
  double memoryPerRank = 0;    // bytes
  double bytesIn = 0, bytesOut = 0;
  double ioSeconds = 0;        // bytes / fs bandwidth
  int ioBoundFromNodes = 0;    // nodes beyond which I/O bounds the stage (0: never within 100000)
};

struct Projection {
  std::vector<StageRow> rows;
  double wallSeconds = 0;
  std::string bound;           // the stage with the longest wall time
  int tiles = 0, scenesPerTile = 0, bands = 0, periods = 0;
  double tilePixels = 0;
  std::vector<std::string> assumptions;
};

Projection project(const Config& cfg, const Rates& rates, const Shape& shape);
std::string formatTable(const Projection& p, const Shape& shape);
std::string toJson(const Projection& p, const Shape& shape);

}  // namespace cropmap::plan
