// `cropmap composite`: the scenes of the catalog to the cube.
#include <boost/program_options.hpp>
#include <cstdio>
#include <fstream>

#include "composite.hpp"
#include "pipeline/json.hpp"
#include "stages/commands.hpp"

namespace cropmap {

Command compositeCommand() {
  Command c;
  c.name = "composite";
  c.summary = "cloud-masked per-period medians with gap filling, in parallel, into <run.output>/cube.h5";
  c.description =
      "Run under mpirun/srun for more ranks. Work units are blocks of composite.block_size pixels,\n"
      "handed out statically (LPT by cost) or dynamically (composite.scheduler). --resume continues an\n"
      "interrupted run from the cube's ledger and gives the same cube as an uninterrupted run.";
  c.addOptions = [](boost::program_options::options_description& o,
                   boost::program_options::positional_options_description&) {
    o.add_options()("stats-json", boost::program_options::value<std::string>(),
                    "write the run's timings and throughput as JSON to this file (rank 0)");
  };
  c.run = [](CommandContext& ctx) {
    const CompositeStats st = runComposite(ctx.config, ctx.comm(), ctx.resume);
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.3g", st.wall > 0 ? st.observations / st.wall / 1e6 : 0.0);
    ctx.summary.push_back({"Mobs/s", buf});
    std::snprintf(buf, sizeof buf, "%.2f", st.load.imbalance());
    ctx.summary.push_back({"imbalance max/mean", buf});
    ctx.summary.push_back({"units", std::to_string(st.units) + "/" + std::to_string(st.unitsTotal)});
    if (ctx.rank() == 0 && ctx.args.count("stats-json")) {
      const std::string path = ctx.args["stats-json"].as<std::string>();
      std::ofstream out(path);
      out << json::object({{"ranks", json::num(ctx.size())},
                         {"wall_s", json::num(st.wall)},
                         {"catalog_s", json::num(st.catalog)},
                         {"read_s", json::num(st.read)},
                         {"mask_median_s", json::num(st.maskMedian)},
                         {"interpolate_s", json::num(st.interpolate)},
                         {"write_s", json::num(st.write)},
                         {"units", json::num(static_cast<double>(st.units))},
                         {"observations", json::num(static_cast<double>(st.observations))},
                         {"bytes_read", json::num(static_cast<double>(st.bytesRead))},
                         {"no_data_pixels", json::num(static_cast<double>(st.noDataPixels))},
                         {"failed_reads", json::num(static_cast<double>(st.failedReads))},
                         {"impossible_values", json::num(static_cast<double>(st.impossibleValues))},
                         {"busy_max_s", json::num(st.load.max())},
                         {"busy_mean_s", json::num(st.load.mean())},
                         {"imbalance", json::num(st.load.imbalance())},
                         {"cube", json::str(st.cubePath)}})
          << "\n";
      if (!out) throw std::runtime_error(path + ": cannot write the statistics");
    }
    return 0;
  };
  return c;
}

}  // namespace cropmap
