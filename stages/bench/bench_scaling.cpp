// `cropmap bench scaling`: a stage at several rank counts, strong (a fixed
// problem) and weak (a problem growing with the ranks), with the parallel
// efficiency of every rank count against the first. Every measurement is its
// own `<--mpiexec> -n N cropmap ...` job, so the same command runs across
// nodes under Slurm with `--mpiexec srun`.
//
//   composite  strong: one synthetic region (--tiles tiles of --size px);
//              weak: the tiles' side grows with sqrt(N), so pixels per rank stay fixed.
//   train      strong: one global batch (train.batch_size x the largest count) split
//              over the ranks; weak: train.batch_size per rank. samples/s of the
//              data-parallel backend (train.backend) from `cropmap bench train`.
//
// efficiency(N) = (rate(N) / N) / (rate(first) / first), rate = work per second:
// 1 is perfect scaling for both kinds.
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "bench.hpp"
#include "pipeline/json.hpp"
#include "pipeline/log.hpp"

namespace fs = std::filesystem;

namespace cropmap {

namespace {

std::vector<int> rankCounts(const std::string& list) {
  std::vector<int> out;
  std::stringstream ss(list);
  std::string r;
  while (std::getline(ss, r, ',')) {
    int n = 0;
    try {
      n = std::stoi(r);
    } catch (const std::exception&) {
    }
    if (n < 1) throw UsageError("bench scaling: --ranks must list positive rank counts, e.g. 1,2,4 (got '" + list + "')");
    out.push_back(n);
  }
  if (out.empty()) throw UsageError("bench scaling: --ranks is empty");
  return out;
}

struct Point {
  int ranks = 0;
  std::string problem;
  double wall = 0, rate = 0, efficiency = 0;
};

void setEfficiencies(std::vector<Point>& pts) {
  for (auto& p : pts)
    p.efficiency = (p.rate / p.ranks) / (pts.front().rate / pts.front().ranks);
}

std::vector<Point> compositeScaling(CommandContext& ctx, const fs::path& dir, const std::vector<int>& ranks,
                                    bool weak) {
  const int size = ctx.args["size"].as<int>(), tiles = ctx.args["tiles"].as<int>(), block = ctx.args["block"].as<int>();
  const std::string layout = ctx.args["layout"].defaulted() ? imageryLayoutOf(ctx.config)
                                                             : ctx.args["layout"].as<std::string>();
  std::vector<Point> pts;
  for (int n : ranks) {
    // Weak: the side grows with sqrt(N / first), rounded to an even pixel count.
    int side = size;
    if (weak) side = 2 * static_cast<int>(std::lround(size * std::sqrt(static_cast<double>(n) / ranks.front()) / 2));
    const BenchRegion region = benchRegion(dir, side, tiles, layout);
    const std::string tag = std::string(weak ? "weak" : "strong") + "_np" + std::to_string(n);
    log::info("bench scaling: composite ", tag, " (", tiles, " tile(s) of ", side, " px, ", region.scenes, " scenes)");
    const json::Value st = compositeJob(region, dir / ("composite_" + tag), n, block, ctx.args["mpiexec"].as<std::string>());
    Point p;
    p.ranks = n;
    p.problem = std::to_string(tiles) + " x " + std::to_string(side) + " px, " + std::to_string(region.scenes) + " scenes";
    p.wall = st.at("wall_s").number();
    p.rate = st.at("observations").number() / p.wall;
    pts.push_back(p);
  }
  setEfficiencies(pts);
  return pts;
}

std::vector<Point> trainScaling(CommandContext& ctx, const fs::path& dir, const std::vector<int>& ranks, bool weak) {
  const std::string model = ctx.args.count("model") ? ctx.args["model"].as<std::string>() : ctx.config.train.model;
  const int steps = ctx.args.count("steps") ? ctx.args["steps"].as<int>() : 20;
  const int most = *std::max_element(ranks.begin(), ranks.end());
  const int global = ctx.config.train.batch_size * most;
  const std::string backend = ctx.config.train.backend == "serial" ? "mpi" : ctx.config.train.backend;
  const std::string cfgPath = (dir / "scaling.yaml").string();
  writeTextAtomically(cfgPath, ctx.config.yaml());
  std::vector<Point> pts;
  for (int n : ranks) {
    const int batch = weak ? ctx.config.train.batch_size : std::max(1, global / n);
    const fs::path out = dir / ("train_" + std::string(weak ? "weak" : "strong") + "_np" + std::to_string(n));
    log::info("bench scaling: train ", model, " at ", n, " rank(s), batch ", batch, " per rank");
    runLine(ctx.args["mpiexec"].as<std::string>() + " -n " + std::to_string(n) + " " + shellQuoted(selfExe()) +
            " bench train --config " + shellQuoted(cfgPath) + " --model " + shellQuoted(model) + " --steps " +
            std::to_string(steps) + " --set train.batch_size=" + std::to_string(batch) +
            " --set run.output=" + shellQuoted(out.string()));
    const json::Value rows = json::parseFile((out / "bench" / ("train_np" + std::to_string(n) + ".json")).string());
    Point p;
    p.ranks = n;
    p.problem = weak ? "batch " + std::to_string(batch) + " per rank" : "global batch " + std::to_string(batch * n);
    for (const auto& r : rows.array())
      if (r.stringOr("backend", "") == backend && !r.at("overlap").boolean()) p.rate = r.at("samples_per_s").number();
    if (!(p.rate > 0)) throw std::runtime_error("bench scaling: no " + backend + " row in the train benchmark at " +
                                                std::to_string(n) + " ranks");
    p.wall = static_cast<double>(steps) * batch * n / p.rate;
    pts.push_back(p);
  }
  setEfficiencies(pts);
  return pts;
}

}  // namespace

int benchScaling(CommandContext& ctx) {
  const std::vector<int> ranks = rankCounts(ctx.args["ranks"].as<std::string>());
  const std::string stage = ctx.args.count("stage") ? ctx.args["stage"].as<std::string>() : "all";
  const std::string mode = ctx.args.count("mode") ? ctx.args["mode"].as<std::string>() : "both";
  if (stage != "composite" && stage != "train" && stage != "all")
    throw UsageError("bench scaling: --stage must be composite, train or all (predict at several rank counts: "
                     "`cropmap bench predict --ranks ...`)");
  if (mode != "strong" && mode != "weak" && mode != "both")
    throw UsageError("bench scaling: --mode must be strong, weak or both");
  const fs::path dir = fs::path(ctx.config.run.output) / "bench" / "scaling";
  fs::create_directories(dir);

  std::ostringstream table;
  json::Object doc;
  for (const std::string s : {"composite", "train"}) {
    if (stage != "all" && stage != s) continue;
    json::Object modes;
    for (const std::string m : {"strong", "weak"}) {
      if (mode != "both" && mode != m) continue;
      const bool weak = m == "weak";
      const auto pts = s == "composite" ? compositeScaling(ctx, dir, ranks, weak) : trainScaling(ctx, dir, ranks, weak);
      json::Object byRanks;
      for (const auto& p : pts) {
        char line[256];
        std::snprintf(line, sizeof line, "%-10s %-7s %6d  %-32s %9.2f %14.4g %9.2f %10.2f\n", s.c_str(), m.c_str(),
                      p.ranks, p.problem.c_str(), p.wall, p.rate, p.rate / pts.front().rate, p.efficiency);
        table << line;
        byRanks.raw(std::to_string(p.ranks), json::object({{"problem", json::str(p.problem)},
                                                            {"wall_s", json::num(p.wall)},
                                                            {"rate_per_s", json::num(p.rate)},
                                                            {"efficiency", json::num(p.efficiency)}}));
      }
      modes.raw(m, byRanks.text());
    }
    doc.raw(s, modes.text());
  }
  doc.field("launcher", ctx.args["mpiexec"].as<std::string>());
  const std::string out = ctx.args.count("json") ? ctx.args["json"].as<std::string>()
                                                  : (fs::path(ctx.config.run.output) / "bench" / "scaling.json").string();
  writeTextAtomically(out, doc.text() + "\n");
  std::printf("cropmap bench scaling (launcher: %s)\n", ctx.args["mpiexec"].as<std::string>().c_str());
  std::printf("%-10s %-7s %6s  %-32s %9s %14s %9s %10s\n", "stage", "mode", "ranks", "problem", "wall s", "rate/s",
              "speedup", "efficiency");
  std::fputs(table.str().c_str(), stdout);
  std::printf("rate: observations/s (composite), samples/s (train); efficiency = (rate / ranks) over the first\n"
              "count's: 1 is perfect scaling, strong (fixed problem) and weak (problem growing with the ranks) alike\n"
              "written %s\n",
              out.c_str());
  return 0;
}

}  // namespace cropmap
