// `cropmap plan`: per stage work, core-hours, wall time, memory per rank and
// bytes for a configuration on N nodes x R ranks, from `cropmap bench all`'s rates.
#include <boost/program_options.hpp>
#include <cstdio>
#include <iostream>
#include <sstream>

#include "pipeline/json.hpp"
#include "pipeline/log.hpp"
#include "pipeline/mpi.hpp"
#include "plan.hpp"
#include "stages/catalog/catalog.hpp"
#include "stages/commands.hpp"

namespace po = boost::program_options;

namespace cropmap {

namespace {

// Scenes per tile from the catalog when the archive can be read, else 0.
int scenesFromCatalog(const Config& cfg, const Comm& comm) {
  try {
    const Catalog cat = buildCatalog(cfg, comm.raw());
    if (cat.tiles.empty()) return 0;
    return (cat.scenes() + static_cast<int>(cat.tiles.size()) - 1) / static_cast<int>(cat.tiles.size());
  } catch (const std::exception& e) {
    log::info("plan: the archive could not be read (", e.what(), "); using documented averages");
    return 0;
  }
}

}  // namespace

Command planCommand() {
  Command c;
  c.name = "plan";
  c.summary = "projected core-hours, wall time, memory and I/O per stage on N nodes, from `bench all` rates";
  c.description =
      "Reads the configuration (tiles, bands, periods; scenes per tile from the catalog when the archive\n"
      "is reachable, else --scenes-per-tile or the documented average of 100) and the per-rank rates\n"
      "measured by `cropmap bench all` on the target machine, and prints per stage: work, core-hours,\n"
      "wall time, memory per rank, bytes in and out, the node count from which the file system bounds\n"
      "the stage, and the stage that bounds the run.";
  c.locksOutput = false;
  c.addOptions = [](po::options_description& o, po::positional_options_description&) {
    o.add_options()("rates", po::value<std::string>(), "JSON of `cropmap bench all` (required)")(
        "nodes", po::value<std::string>()->default_value("1"), "node counts, comma-separated (e.g. 1,8,64)")(
        "ranks-per-node", po::value<int>()->default_value(32), "MPI ranks per node")(
        "gpus", po::value<int>()->default_value(0), "GPUs per node (training stays projected on CPU rates)")(
        "fs-gbps", po::value<double>()->default_value(10.0), "file-system bandwidth of the whole job, GB/s")(
        "scenes-per-tile", po::value<int>()->default_value(0), "scenes per tile and year (0: catalog or average)")(
        "tile-px", po::value<int>()->default_value(0), "tile side in pixels (0: synth.size or 10980)")(
        "json", po::value<std::string>(), "also write the projections as JSON");
  };
  c.run = [](CommandContext& ctx) {
    if (!ctx.args.count("rates")) throw UsageError("plan needs --rates FILE (written by `cropmap bench all`)");
    const plan::Rates rates = plan::readRates(ctx.args["rates"].as<std::string>());
    plan::Shape shape;
    shape.ranksPerNode = ctx.args["ranks-per-node"].as<int>();
    shape.gpus = ctx.args["gpus"].as<int>();
    shape.fsBytesPerS = ctx.args["fs-gbps"].as<double>() * 1e9;
    shape.tilePixels = ctx.args["tile-px"].as<int>();
    shape.scenesPerTile = ctx.args["scenes-per-tile"].as<int>();
    if (shape.fsBytesPerS <= 0) throw UsageError("--fs-gbps must be > 0");
    const Comm comm(ctx.comm());
    if (shape.scenesPerTile <= 0) shape.scenesPerTile = scenesFromCatalog(ctx.config, comm);
    std::vector<int> nodes;
    {
      std::stringstream list(ctx.args["nodes"].as<std::string>());
      std::string n;
      while (std::getline(list, n, ',')) {
        size_t used = 0;
        int v = 0;
        try {
          v = std::stoi(n, &used);
        } catch (const std::exception&) {
        }
        if (v < 1 || used != n.size()) throw UsageError("--nodes: '" + n + "' is not a node count (e.g. 1,8,64)");
        nodes.push_back(v);
      }
    }
    if (ctx.rank() != 0) return 0;
    std::string js = "[";
    for (int n : nodes) {
      shape.nodes = n;
      const plan::Projection p = plan::project(ctx.config, rates, shape);
      std::cout << plan::formatTable(p, shape) << "\n";
      js += (js.size() > 1 ? ",\n" : "") + plan::toJson(p, shape);
    }
    if (ctx.args.count("json")) writeTextAtomically(ctx.args["json"].as<std::string>(), js + "]\n");
    std::cout << "rates: " << rates.source << " (per rank, measured by `cropmap bench all`)\n";
    return 0;
  };
  return c;
}

}  // namespace cropmap
