#include "labels.hpp"

#include <ogr_geometry.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <memory>
#include <sstream>

#include <boost/program_options.hpp>

#include "coverage.hpp"
#include "kernels/erosion.hpp"
#include "pipeline/identity.hpp"
#include "pipeline/json.hpp"
#include "pipeline/log.hpp"
#include "pipeline/memory.hpp"
#include "pipeline/paths.hpp"
#include "scheduler/block_stage.hpp"
#include "stages/commands.hpp"

namespace cropmap {

std::uint64_t codeHash(const std::string& code) { return fnv1a(code); }

BlockLabels labelBlock(ParcelSource& source, const TileGrid& tile, int tileIndex, const Window& w, int r,
                       std::map<std::uint64_t, std::string>* codes) {
  // The window grown by the erosion halo, also beyond the tile edge: the
  // register is known there, so a parcel's border is found wherever it lies.
  const int rows = w.rows + 2 * r, cols = w.cols + 2 * r;
  const auto& g = tile.geotransform;
  gdal::GeoTransform gt{g[0] + (w.col0 - r) * g[1], g[1], 0.0, g[3] + (w.row0 - r) * g[5], 0.0, g[5]};
  const double xa = gt[0], xb = gt[0] + cols * gt[1], ya = gt[3], yb = gt[3] + rows * gt[5];
  const std::array<double, 4> bounds{std::min(xa, xb), std::min(ya, yb), std::max(xa, xb), std::max(ya, yb)};
  std::vector<Parcel> parcels = source.query(tile, bounds);

  std::vector<OGRGeometry*> geoms;
  std::vector<size_t> ofBurn;  // burn value - 1 -> parcel index
  for (size_t i = 0; i < parcels.size(); ++i)
    if (parcels[i].geometry) {
      geoms.push_back(parcels[i].geometry.get());
      ofBurn.push_back(i);
    }
  const std::string ctx = source.where() + ": tile " + tile.name + " block (" + std::to_string(w.row0) + "," +
                          std::to_string(w.col0) + ")";
  const auto burnt = gdal::rasterizeIndices(geoms, gt, rows, cols, ctx);

  // Erosion runs on the burn index of every parcel, labelled or not: a wheat
  // pixel next to a forest or an unknown-code parcel is as mixed as one next
  // to another wheat parcel.
  std::vector<std::int64_t> ids(burnt.begin(), burnt.end());
  const auto keep = kernels::erodeParcels(ids.data(), rows, cols, r);

  BlockLabels out;
  out.label.assign(static_cast<size_t>(w.pixels()), -1);
  out.parcel.assign(static_cast<size_t>(w.pixels()), 0);
  std::vector<std::int64_t> before(parcels.size(), 0), after(parcels.size(), 0);
  for (int y = 0; y < w.rows; ++y)
    for (int x = 0; x < w.cols; ++x) {
      const size_t e = static_cast<size_t>(y + r) * cols + static_cast<size_t>(x + r);
      if (!burnt[e]) continue;
      const size_t pi = ofBurn[static_cast<size_t>(burnt[e] - 1)];
      ++before[pi];
      const Parcel& p = parcels[pi];
      if (keep[e] && p.status == ParcelStatus::labelled) {
        const size_t o = static_cast<size_t>(y) * w.cols + x;
        out.label[o] = static_cast<std::int16_t>(p.cls);
        out.parcel[o] = p.id;
        ++after[pi];
      }
    }
  for (size_t i = 0; i < parcels.size(); ++i) {
    if (before[i] == 0) continue;  // no pixel centre in this block's core
    ParcelRecord rec;
    rec.parcel = parcels[i].id;
    rec.codeHash = codeHash(parcels[i].code);
    rec.before = before[i];
    rec.after = after[i];
    rec.tile = tileIndex;
    rec.cls = static_cast<std::int16_t>(parcels[i].status == ParcelStatus::labelled ? parcels[i].cls : -1);
    rec.status = static_cast<std::uint8_t>(parcels[i].status);
    out.records.push_back(rec);
    if (codes && parcels[i].status == ParcelStatus::unknown) (*codes)[rec.codeHash] = parcels[i].code;
  }
  return out;
}

namespace {

// Per-tile counts, flat so that one reduction sums them: per class parcels
// labelled, pixels labelled, parcels eroded away; then ignored, unknown, too
// small, invalid, pixels before erosion (of labelled parcels).
constexpr int kScalars = 5;
int stride(int classes) { return 3 * classes + kScalars; }

std::string summaryJson(const std::vector<TileGrid>& tiles, const Legend& legend, int level, const std::vector<std::int64_t>& sums,
                        int K, const std::map<int, std::map<std::string, std::int64_t>>& unknown,
                        const std::string& register_) {
  const auto names = legend.classNames(level);
  std::ostringstream js;
  js << "{\n  \"register\": " << json::str(register_) << ",\n  \"legend\": " << json::str(legend.file)
     << ",\n  \"level\": " << level << ",\n  \"tiles\": {";
  for (size_t t = 0; t < tiles.size(); ++t) {
    const std::int64_t* s = sums.data() + t * static_cast<size_t>(stride(K));
    js << (t ? ",\n" : "\n") << "    " << json::str(tiles[t].name) << ": {\n      \"classes\": [";
    for (int c = 0; c < K; ++c)
      js << (c ? ",\n" : "\n") << "        {\"id\": " << c << ", \"name\": " << json::str(names[c])
         << ", \"parcels\": " << s[c] << ", \"pixels\": " << s[K + c] << ", \"eroded_away\": " << s[2 * K + c] << "}";
    const std::int64_t* q = s + 3 * K;
    js << "\n      ],\n      \"ignored\": " << q[0] << ", \"unknown\": " << q[1] << ", \"too_small\": " << q[2]
       << ", \"invalid\": " << q[3] << ", \"pixels_before_erosion\": " << q[4] << ",\n      \"unknown_codes\": {";
    bool first = true;
    auto it = unknown.find(static_cast<int>(t));
    if (it != unknown.end())
      for (const auto& [code, n] : it->second) {
        js << (first ? "" : ", ") << json::str(code) << ": " << n;
        first = false;
      }
    js << "}\n    }";
  }
  js << "\n  }\n}\n";
  return js.str();
}

// The legend's coverage of the register on the tiles: logged and written as
// <run.output>/labels_coverage.json.
void writeCoverage(const Config& cfg, ParcelSource& parcels, const Legend& legend, const std::vector<TileGrid>& tiles) {
  const Coverage c = measureCoverage(parcels, tiles);
  std::vector<std::string> names;
  for (const auto& t : tiles) names.push_back(t.name);
  const std::string path = (std::filesystem::path(cfg.run.output) / "labels_coverage.json").string();
  std::filesystem::create_directories(cfg.run.output);
  writeTextAtomically(path, coverageJson(c, parcels.where(), legend.file, names));
  logCoverage(c, legend);
  log::info("labels: coverage in ", path);
}

// Per (tile, parcel) over all blocks, reduced on the parcel's owner rank: a
// parcel is labelled on a tile when any pixel survived erosion, eroded away
// when it had pixels and none survived.
struct Agg {
  std::int64_t before = 0, after = 0;
  std::uint64_t codeHash = 0;
  std::int16_t cls = -1;
  std::uint8_t status = 0;
};

class LabelsStage : public BlockStage {
 public:
  explicit LabelsStage(CommandContext& ctx) : BlockStage("labels"), ctx_(ctx), cfg_(ctx.config) {}

  UnitPlan prepare(const Comm& comm) override {
    if (cfg_.labels.legend.empty())
      throw UsageError("labels.legend is not set: give a legend YAML (see configs/legends/)");
    legend_ = std::make_unique<Legend>(loadLegend(cfg_.labels));
    K_ = legend_->numClasses(cfg_.labels.level);
    parcels_ = std::make_unique<ParcelSource>(cfg_.labels, *legend_);
    if (comm.root() && !parcels_->ids().warning().empty()) log::warn("labels: ", parcels_->ids().warning());
    path_ = cubePath(cfg_);
    if (!std::filesystem::exists(path_))
      throw UsageError(path_ + ": no cube; run `cropmap composite` with the same configuration first");
    cube_ = Cube::open(path_, comm.raw(), true);
    // Every transformation is built (and so checked) before any collective write.
    for (const auto& t : cube_.tiles()) parcels_->prepare(t);
    bool meets = false;
    for (const auto& t : cube_.tiles()) meets = meets || parcels_->meets(t);
    if (!meets) throw UsageError(misplaced("does not reach any tile"));
    if (comm.root()) writeCoverage(cfg_, *parcels_, *legend_, cube_.tiles());

    UnitPlan plan;
    plan.blockEdge = blockEdge(cfg_.composite.block_size, cube_.layout().chunk);
    MemoryBudget(cfg_.compute.memory_mb).checkBlock("labels", plan.blockEdge, cube_.layout().chunk, [&](int b) {
      const std::int64_t grown = b + 2 * cfg_.labels.erosion_px;
      return grown * grown * 13 + static_cast<std::int64_t>(b) * b * 10;  // burn ids, erosion, label and parcel
    });
    plan.units = makeUnits(cube_.tiles(), plan.blockEdge);
    plan.assignment = assignmentOf(cfg_.compute.scheduler);
    for (const auto& t : cube_.tiles()) plan.tiles.push_back(t.name);
    const std::string settings = labelSettings();
    if (ctx_.resume && resumable(plan.units, settings)) {
      plan.done = cube_.ledgerDone("labels");
      if (std::all_of(plan.done.begin(), plan.done.end(), [](std::uint8_t d) { return d == 1; })) {
        log::info("labels: complete in ", path_, "; nothing to do (--resume)");
        cube_.close();
        plan.complete = true;
        return plan;
      }
      log::info("labels: resuming ", path_, ": ", std::count(plan.done.begin(), plan.done.end(), 1), " of ",
                plan.units.size(), " blocks already labelled");
    } else {
      createOutputs(plan.units, settings);
    }
    outgoing_.assign(static_cast<size_t>(comm.size()), {});
    size_ = comm.size();
    log::info("labels: ", parcels_->where(), " (", parcels_->featureCount(), " parcels; ", parcels_->ids().describe(), ") onto ", cube_.tiles().size(),
              " tiles, ", plan.units.size(), " blocks of ", plan.blockEdge, " px, erosion ", cfg_.labels.erosion_px,
              " px, ", comm.size(), " ranks");
    return plan;
  }

  // Every output is a function of its unit alone and the reductions in
  // finish() are integer sums, so the assignment never changes a result.
  void process(const WorkUnit& u) override {
    BlockLabels b = label(u);
    const TileGrid& tile = cube_.tiles()[static_cast<size_t>(u.tile)];
    cube_.writeLayer<std::int16_t>(tile.name, "label", u.window(), b.label.data());
    cube_.writeLayer<std::int64_t>(tile.name, "parcel", u.window(), b.parcel.data());
    send(b.records);
  }
  void commit(const WorkUnit& u) override { cube_.markDone("labels", u.index); }
  void stop(const Comm&) override { cube_.close(); }
  // A block labelled before the resume: its parcel records again, without writing.
  void recount(const WorkUnit& u) override { send(label(u).records); }

  void finish(const Comm& comm, const PassResult&) override {
    std::map<std::pair<int, std::int64_t>, Agg> agg;
    for (const auto& r : comm.exchange(outgoing_, "labels: parcel records")) {
      auto [it, fresh] = agg.try_emplace({r.tile, r.parcel});
      Agg& a = it->second;
      if (fresh) {
        a.codeHash = r.codeHash;
        a.cls = r.cls;
        a.status = r.status;
      }
      a.before += r.before;
      a.after += r.after;
    }
    outgoing_.clear();
    const size_t T = cube_.tiles().size();
    std::vector<std::int64_t> sums(T * static_cast<size_t>(stride()), 0);
    std::map<std::pair<int, std::uint64_t>, std::int64_t> unknownHere;
    for (const auto& [key, a] : agg) count(key.first, a, sums, unknownHere);
    comm.sumInPlace(sums, "labels: per-tile counts");
    std::ostringstream unk, dict;
    for (const auto& [key, n] : unknownHere) unk << key.first << ' ' << key.second << ' ' << n << '\n';
    for (const auto& [h, code] : codes_) dict << h << '\t' << code << '\n';
    const auto unkAll = comm.gatherText(unk.str(), "labels: unknown codes");
    const auto dictAll = comm.gatherText(dict.str(), "labels: code names");
    const std::vector<TileGrid> tiles = cube_.tiles();
    cube_.close();
    if (comm.root()) report(tiles, sums, unknownCodes(unkAll, dictAll));
    std::int64_t labelled = 0;
    for (size_t t = 0; t < tiles.size(); ++t)
      for (int c = 0; c < K_; ++c) labelled += sums[t * static_cast<size_t>(stride()) + static_cast<size_t>(K_ + c)];
    if (labelled == 0) throw UsageError(misplaced("labels no pixel"));
  }

 private:
  int stride() const { return cropmap::stride(K_); }

  // A register that labels nothing: named with its CRS and extent next to the tiles'.
  std::string misplaced(const std::string& what) const {
    std::string tiles;
    for (const auto& t : cube_.tiles()) {
      const auto& g = t.geotransform;
      char buf[200];
      std::snprintf(buf, sizeof buf, "%s EPSG:%d (%.0f, %.0f) .. (%.0f, %.0f)", t.name.c_str(), t.epsg, g[0],
                    g[3] + t.height * g[5], g[0] + t.width * g[1], g[3]);
      tiles += (tiles.empty() ? "" : "; ") + std::string(buf);
    }
    return parcels_->where() + " (" + parcels_->describeExtent() + ") " + what + " of the cube (" + tiles +
           "). Check the register's declared CRS (projected coordinates tagged EPSG:4326 land elsewhere), "
           "labels.layer, and that the register covers the tiles";
  }

  // What decides the layers besides the parcels: a resume needs them unchanged.
  std::string labelSettings() const {
    std::ifstream in(cfg_.labels.legend, std::ios::binary);
    std::string legendText((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    return cfg_.sectionYaml("labels") + "block: " + std::to_string(cfg_.composite.block_size) +
           "\nlegend fnv1a: " + hex64(fnv1a(legendText)) + "\nregister: " + fileIdentity(cfg_.labels.parcels) + "\n";
  }

  bool resumable(const std::vector<WorkUnit>& units, const std::string& settings) {
    if (!cube_.hasLayer("label") || !cube_.hasLayer("parcel") || !cube_.hasLedger("labels")) return false;
    if (!cube_.root().hasAttr("labels_settings") || cube_.root().attrString("labels_settings") != settings) {
      log::info("labels: the labelling settings changed since the cube was labelled; labelling every block again");
      return false;
    }
    const auto recorded = cube_.ledgerUnits("labels");
    return recorded.size() == units.size() &&
           std::equal(units.begin(), units.end(), recorded.begin(),
                      [](const WorkUnit& a, const WorkUnit& b) { return a.sameBlock(b); });
  }

  // Collective: the layers, the legend group and the ledger, replacing earlier ones.
  void createOutputs(const std::vector<WorkUnit>& units, const std::string& settings) {
    {
      // CF flags: one meaning per class id, spaces made underscores (CF
      // separates meanings by blanks).
      Cube::LayerAttrs label{"crop class of the legend (/legend class_names); -1 none", "1", "", {}};
      const auto names = legend_->classNames(cfg_.labels.level);
      for (size_t k = 0; k < names.size(); ++k) {
        std::string m = names[k];
        std::replace_if(m.begin(), m.end(), [](char c) { return std::isspace(static_cast<unsigned char>(c)); }, '_');
        label.flagMeanings += (k ? " " : "") + m;
        label.flagValues.push_back(static_cast<std::int64_t>(k));
      }
      cube_.createLayer<std::int16_t>("label", -1, label);
    }
    cube_.createLayer<std::int64_t>("parcel", 0, {"parcel id of the register (0: no parcel)", "", "", {}});
    h5::Group root = cube_.root();
    root.setAttr("labels_settings", settings);
    h5::Group lg = root.openOrCreateGroup("legend");
    lg.setAttr("name", legend_->name);
    lg.setAttr("file", legend_->file);
    lg.setAttr("level", static_cast<std::int64_t>(cfg_.labels.level));
    lg.setAttr("class_names", legend_->classNames(cfg_.labels.level));
    std::vector<std::string> colours, codes;
    for (const auto& c : legend_->classes) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "#%02x%02x%02x", c.colour[0], c.colour[1], c.colour[2]);
      colours.push_back(buf);
      std::string list;
      for (const auto& code : c.codes) list += (list.empty() ? "" : ",") + code;
      codes.push_back(list);
    }
    lg.setAttr("leaf_class_names", legend_->classNames(0));
    lg.setAttr("leaf_class_colours", colours);
    lg.setAttr("leaf_class_codes", codes);
    std::vector<std::int64_t> groupOf;
    for (const auto& c : legend_->classes) groupOf.push_back(c.group);
    lg.setAttr("leaf_class_group", groupOf);
    cube_.createLedger("labels", units);
    cube_.flush();
  }

  BlockLabels label(const WorkUnit& u) {
    const TileGrid& tile = cube_.tiles()[static_cast<size_t>(u.tile)];
    return labelBlock(*parcels_, tile, u.tile, u.window(), cfg_.labels.erosion_px, &codes_);
  }

  void send(const std::vector<ParcelRecord>& records) {
    for (const auto& rec : records)
      outgoing_[static_cast<size_t>(ownerOf(static_cast<std::uint64_t>(rec.parcel), size_))].push_back(rec);
  }

  void count(int tile, const Agg& a, std::vector<std::int64_t>& sums,
             std::map<std::pair<int, std::uint64_t>, std::int64_t>& unknownHere) const {
    std::int64_t* s = sums.data() + static_cast<size_t>(tile) * static_cast<size_t>(stride());
    switch (static_cast<ParcelStatus>(a.status)) {
      case ParcelStatus::labelled:
        if (a.after > 0) {
          s[a.cls] += 1;
          s[K_ + a.cls] += a.after;
        } else {
          s[2 * K_ + a.cls] += 1;
        }
        s[3 * K_ + 4] += a.before;
        break;
      case ParcelStatus::ignored: s[3 * K_] += 1; break;
      case ParcelStatus::unknown:
        s[3 * K_ + 1] += 1;
        unknownHere[{tile, a.codeHash}] += 1;
        break;
      case ParcelStatus::small: s[3 * K_ + 2] += 1; break;
      case ParcelStatus::invalid: s[3 * K_ + 3] += 1; break;
    }
  }

  // Per tile: unknown code -> parcels, from every rank's counts and code names.
  static std::map<int, std::map<std::string, std::int64_t>> unknownCodes(const std::vector<std::string>& unkAll,
                                                                        const std::vector<std::string>& dictAll) {
    std::map<std::uint64_t, std::string> names;
    for (const auto& text : dictAll) {
      std::istringstream in(text);
      std::string line;
      while (std::getline(in, line)) {
        const auto tab = line.find('\t');
        names[std::stoull(line.substr(0, tab))] = line.substr(tab + 1);
      }
    }
    std::map<int, std::map<std::string, std::int64_t>> unknown;
    for (const auto& text : unkAll) {
      std::istringstream in(text);
      int t;
      std::uint64_t h;
      std::int64_t n;
      while (in >> t >> h >> n) unknown[t][names.count(h) ? names[h] : "?"] += n;
    }
    return unknown;
  }

  void report(const std::vector<TileGrid>& tiles, const std::vector<std::int64_t>& sums,
              const std::map<int, std::map<std::string, std::int64_t>>& unknown) const {
    const std::string path = (std::filesystem::path(cfg_.run.output) / "labels_summary.json").string();
    writeTextAtomically(path, summaryJson(tiles, *legend_, cfg_.labels.level, sums, K_, unknown,
                                          parcels_->where()));
    for (size_t t = 0; t < tiles.size(); ++t) {
      const std::int64_t* s = sums.data() + t * static_cast<size_t>(stride());
      std::int64_t parcels = 0, pixels = 0, eroded = 0;
      int empty = 0;
      for (int c = 0; c < K_; ++c) {
        parcels += s[c];
        pixels += s[K_ + c];
        eroded += s[2 * K_ + c];
        empty += s[c] == 0;
      }
      log::info("labels: tile ", tiles[t].name, ": ", parcels, " parcels, ", pixels, " pixels in ", K_ - empty, "/",
                K_, " classes; eroded away ", eroded, ", too small ", s[3 * K_ + 2], ", ignored ", s[3 * K_],
                ", unknown code ", s[3 * K_ + 1], ", invalid ", s[3 * K_ + 3]);
      auto u = unknown.find(static_cast<int>(t));
      if (u != unknown.end()) {
        std::string list;
        for (const auto& [code, n] : u->second)
          list += (list.empty() ? "" : ", ") + ("'" + code + "' x" + std::to_string(n));
        log::warn("labels: tile ", tiles[t].name, ": codes not in the legend ", legend_->file, ": ", list);
      }
    }
    log::info("labels: summary in ", path);
  }

  CommandContext& ctx_;
  const Config& cfg_;
  std::unique_ptr<Legend> legend_;
  std::unique_ptr<ParcelSource> parcels_;
  int K_ = 0, size_ = 1;
  std::string path_;
  Cube cube_;
  std::vector<std::vector<ParcelRecord>> outgoing_;  // by owner rank
  std::map<std::uint64_t, std::string> codes_;       // unknown codes seen, by hash
};

}  // namespace

// `cropmap labels --coverage`: the register against the legend on the tiles of
// inputs.tiles (or of the cube when there is one), no imagery, rank 0 alone.
int runCoverageOnly(CommandContext& ctx) {
  const Config& cfg = ctx.config;
  if (cfg.labels.legend.empty()) throw UsageError("labels.legend is not set: give a legend YAML (see configs/legends/)");
  const Legend legend = loadLegend(cfg.labels);
  ParcelSource parcels(cfg.labels, legend);
  std::vector<TileGrid> tiles;
  if (std::filesystem::exists(cubePath(cfg))) {
    Cube cube = Cube::open(cubePath(cfg), MPI_COMM_SELF, false);
    tiles = cube.tiles();
    cube.close();
  } else if (cfg.inputs.tiles.empty()) {
    // No tile named: every parcel of the register, areas in its own CRS.
    log::info("labels --coverage: no cube and inputs.tiles is empty: the whole register, areas in its CRS");
    tiles.push_back(parcels.wholeLayer());
  } else {
    for (const auto& id : cfg.inputs.tiles) {
      try {
        tiles.push_back(tileGridOf(id));
      } catch (const std::invalid_argument& e) {
        throw UsageError(std::string("inputs.tiles: ") + e.what());
      }
    }
  }
  if (!parcels.ids().warning().empty()) log::warn("labels: ", parcels.ids().warning());
  writeCoverage(cfg, parcels, legend, tiles);
  return 0;
}

int runLabels(CommandContext& ctx) {
  if (ctx.args.count("coverage")) {
    int code = 0;
    std::string error;
    bool usage = false;
    if (ctx.rank() == 0) {
      try {
        code = runCoverageOnly(ctx);
      } catch (const UsageError& e) {
        error = e.what();
        usage = true;
      } catch (const std::exception& e) {
        error = e.what();
      }
    }
    Comm comm(ctx.comm());
    const auto all = comm.gatherText(error, "labels: coverage");
    (void)all;
    if (ctx.rank() == 0 && !error.empty()) {
      if (usage) throw UsageError(error);
      throw std::runtime_error(error);
    }
    return code;
  }
  LabelsStage stage(ctx);
  runBlockStage(stage, Comm(ctx.comm()));
  return 0;
}

Command labelsCommand() {
  Command c;
  c.name = "labels";
  c.summary = "rasterize the parcel register onto the cube: label and parcel layers, per-tile summary";
  c.description =
      "Reads labels.parcels (GeoPackage, Shapefile, FlatGeobuf, GeoJSON) block by block, maps crop codes\n"
      "through labels.legend, reprojects to each tile's UTM grid, rasterizes by the pixel-centre rule,\n"
      "erodes every parcel by labels.erosion_px and writes /tiles/<T>/label and /parcel into\n"
      "<run.output>/cube.h5. Writes <run.output>/labels_summary.json. Every run first reports the legend's\n"
      "coverage of the register (labels_coverage.json); --coverage does only that, from inputs.tiles.";
  c.addOptions = [](boost::program_options::options_description& o,
                    boost::program_options::positional_options_description&) {
    o.add_options()("coverage",
                    "only the legend coverage of the register (parcels and area labelled, ignored, unknown; top "
                    "unknown codes) on the tiles of inputs.tiles, no imagery; writes labels_coverage.json");
  };
  c.run = runLabels;
  return c;
}

}  // namespace cropmap
