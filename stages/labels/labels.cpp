#include "labels.hpp"

#include <ogr_geometry.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <sstream>
#include <unordered_map>

#include "exchange.hpp"
#include "pipeline/json.hpp"
#include "kernels/erosion.hpp"
#include "kernels/sampling.hpp"
#include "pipeline/log.hpp"
#include "pipeline/progress.hpp"
#include "scheduler/mpi_scheduler.hpp"

namespace cropmap {

std::uint64_t codeHash(const std::string& code) {
  std::uint64_t h = 1469598103934665603ULL;  // FNV-1a
  for (unsigned char c : code) h = (h ^ c) * 1099511628211ULL;
  return h;
}

int blockEdge(const Cube& cube, int blockSize) {
  const int c = cube.layout().chunk;
  return std::max(1, blockSize / c) * c;
}

std::vector<LedgerUnit> blockUnits(const Cube& cube, int block) {
  std::vector<LedgerUnit> units;
  for (size_t t = 0; t < cube.tiles().size(); ++t) {
    const TileGrid& g = cube.tiles()[t];
    for (int r = 0; r < g.height; r += block)
      for (int c = 0; c < g.width; c += block)
        units.push_back(LedgerUnit{static_cast<int>(t), Window{r, c, std::min(block, g.height - r),
                                                                 std::min(block, g.width - c)}});
  }
  return units;
}

std::vector<WorkUnit> schedulerUnits(const std::vector<LedgerUnit>& units) {
  std::vector<WorkUnit> out;
  for (size_t i = 0; i < units.size(); ++i) {
    const auto& u = units[i];
    out.push_back(WorkUnit{static_cast<std::int64_t>(i), u.tile, u.window.row0, u.window.col0, u.window.rows,
                           u.window.cols, static_cast<double>(u.window.pixels())});
  }
  return out;
}

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

// Per-tile counts, flat so that one MPI_Reduce sums them.
struct TileCounts {
  int classes = 0;
  // per class: parcels labelled, pixels labelled, parcels eroded away
  static constexpr int kScalars = 5;  // ignored, unknown, small, invalid, pixels before erosion (labelled)
  int stride() const { return 3 * classes + kScalars; }
};

std::string summaryJson(const std::vector<TileGrid>& tiles, const Legend& legend, int level, const std::vector<std::int64_t>& sums,
                        const TileCounts& tc, const std::map<int, std::map<std::string, std::int64_t>>& unknown,
                        const std::string& register_) {
  const auto names = legend.classNames(level);
  std::ostringstream js;
  js << "{\n  \"register\": " << json::str(register_) << ",\n  \"legend\": " << json::str(legend.file)
     << ",\n  \"level\": " << level << ",\n  \"tiles\": {";
  for (size_t t = 0; t < tiles.size(); ++t) {
    const std::int64_t* s = sums.data() + t * static_cast<size_t>(tc.stride());
    const int K = tc.classes;
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

}  // namespace

int runLabels(CommandContext& ctx) {
  const Config& cfg = ctx.config;
  const int rank = ctx.rank(), size = ctx.size();
  if (cfg.labels.legend.empty()) throw UsageError("labels.legend is not set: give a legend YAML (see configs/legends/)");
  const Legend legend = Legend::load(cfg.labels.legend);
  const int K = legend.numClasses(cfg.labels.level);
  ParcelSource parcels(cfg.labels, legend);

  const std::string cubePath = (std::filesystem::path(cfg.run.output) / "cube.h5").string();
  if (!std::filesystem::exists(cubePath))
    throw UsageError(cubePath + ": no cube; run `cropmap composite` with the same configuration first");
  Cube cube = Cube::open(cubePath, ctx.comm(), true);
  // Every transformation is built (and so checked) before any collective write.
  for (const auto& t : cube.tiles()) parcels.prepare(t);

  if (ctx.resume && cube.hasLayer("label") && cube.hasLedger("labels") && cube.complete("labels")) {
    log::info("labels: complete in ", cubePath, "; nothing to do (--resume)");
    cube.close();
    return 0;
  }

  const int block = blockEdge(cube, cfg.composite.block_size);
  const auto units = blockUnits(cube, block);
  cube.createLayer<std::int16_t>("label", -1);
  cube.createLayer<std::int64_t>("parcel", 0);
  {
    h5::Group root = cube.root();
    h5::Group lg = root.openOrCreateGroup("legend");
    lg.setAttr("name", legend.name);
    lg.setAttr("file", legend.file);
    lg.setAttr("level", static_cast<std::int64_t>(cfg.labels.level));
    lg.setAttr("class_names", legend.classNames(cfg.labels.level));
    std::vector<std::string> colours, codes;
    for (const auto& c : legend.classes) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "#%02x%02x%02x", c.colour[0], c.colour[1], c.colour[2]);
      colours.push_back(buf);
      std::string list;
      for (const auto& code : c.codes) list += (list.empty() ? "" : ",") + code;
      codes.push_back(list);
    }
    lg.setAttr("leaf_class_names", legend.classNames(0));
    lg.setAttr("leaf_class_colours", colours);
    lg.setAttr("leaf_class_codes", codes);
    std::vector<std::int64_t> groupOf;
    for (const auto& c : legend.classes) groupOf.push_back(c.group);
    lg.setAttr("leaf_class_group", groupOf);
  }
  cube.createLedger("labels", units);
  cube.flush();

  log::info("labels: ", parcels.where(), " (", parcels.featureCount(), " parcels) onto ", cube.tiles().size(),
            " tiles, ", units.size(), " blocks of ", block, " px, erosion ", cfg.labels.erosion_px, " px, ", size,
            " ranks");
  // Units from the scheduler (composite.scheduler: static LPT or dynamic):
  // every output is a function of its unit alone and the reductions below are
  // integer sums, so the assignment never changes a result.
  const auto unitSource = makeUnitSource(cfg.composite.scheduler, schedulerUnits(units), ctx.comm());
  Progress progress("labels", static_cast<std::int64_t>((units.size() + size - 1) / size), "blocks", rank == 0);
  std::vector<std::vector<ParcelRecord>> outgoing(static_cast<size_t>(size));
  std::map<std::uint64_t, std::string> codes;
  double busy = 0;
  std::int64_t done = 0;
  while (auto wu = unitSource->next()) {
    const double t0 = MPI_Wtime();
    const size_t i = static_cast<size_t>(wu->index);
    const auto& u = units[i];
    const TileGrid& tile = cube.tiles()[static_cast<size_t>(u.tile)];
    BlockLabels b = labelBlock(parcels, tile, u.tile, u.window, cfg.labels.erosion_px, &codes);
    cube.writeLayer<std::int16_t>(tile.name, "label", u.window, b.label.data());
    cube.writeLayer<std::int64_t>(tile.name, "parcel", u.window, b.parcel.data());
    cube.markDone("labels", static_cast<std::int64_t>(i));
    for (const auto& rec : b.records)
      outgoing[static_cast<size_t>(ownerOf(static_cast<std::uint64_t>(rec.parcel), size))].push_back(rec);
    busy += MPI_Wtime() - t0;
    ++done;
    progress.add();
  }
  progress.finish();
  const LoadReport load = gatherLoad(busy, done, ctx.comm());
  log::info("labels: load balance max/mean ", load.imbalance(), " (", cfg.composite.scheduler, ")");

  // Per (tile, parcel) over all blocks: a parcel is labelled on a tile when any
  // pixel survived erosion, eroded away when it had pixels and none survived.
  const auto received = exchangeRecords(outgoing, ctx.comm());
  struct Agg {
    std::int64_t before = 0, after = 0;
    std::uint64_t codeHash = 0;
    std::int16_t cls = -1;
    std::uint8_t status = 0;
  };
  std::map<std::pair<int, std::int64_t>, Agg> agg;
  for (const auto& r : received) {
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
  TileCounts tc{K};
  const size_t T = cube.tiles().size();
  std::vector<std::int64_t> counts(T * static_cast<size_t>(tc.stride()), 0), sums(counts.size(), 0);
  std::map<std::pair<int, std::uint64_t>, std::int64_t> unknownHere;
  for (const auto& [key, a] : agg) {
    std::int64_t* s = counts.data() + static_cast<size_t>(key.first) * static_cast<size_t>(tc.stride());
    switch (static_cast<ParcelStatus>(a.status)) {
      case ParcelStatus::labelled:
        if (a.after > 0) {
          s[a.cls] += 1;
          s[K + a.cls] += a.after;
        } else {
          s[2 * K + a.cls] += 1;
        }
        s[3 * K + 4] += a.before;
        break;
      case ParcelStatus::ignored: s[3 * K] += 1; break;
      case ParcelStatus::unknown:
        s[3 * K + 1] += 1;
        unknownHere[{key.first, a.codeHash}] += 1;
        break;
      case ParcelStatus::small: s[3 * K + 2] += 1; break;
      case ParcelStatus::invalid: s[3 * K + 3] += 1; break;
    }
  }
  CROPMAP_MPI(MPI_Reduce(counts.data(), sums.data(), static_cast<int>(counts.size()), MPI_INT64_T, MPI_SUM, 0,
                         ctx.comm()));
  std::ostringstream unk, dict;
  for (const auto& [key, n] : unknownHere) unk << key.first << ' ' << key.second << ' ' << n << '\n';
  for (const auto& [h, code] : codes) dict << h << '\t' << code << '\n';
  const auto unkAll = gatherText(unk.str(), 0, ctx.comm());
  const auto dictAll = gatherText(dict.str(), 0, ctx.comm());
  const std::vector<TileGrid> tiles = cube.tiles();
  cube.close();

  if (rank == 0) {
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
    const std::string path = (std::filesystem::path(cfg.run.output) / "labels_summary.json").string();
    writeTextAtomically(path, summaryJson(tiles, legend, cfg.labels.level, sums, tc, unknown, parcels.where()));
    const auto names0 = legend.classNames(cfg.labels.level);
    for (size_t t = 0; t < T; ++t) {
      const std::int64_t* s = sums.data() + t * static_cast<size_t>(tc.stride());
      std::int64_t parcels = 0, pixels = 0, eroded = 0;
      int empty = 0;
      for (int c = 0; c < K; ++c) {
        parcels += s[c];
        pixels += s[K + c];
        eroded += s[2 * K + c];
        empty += s[c] == 0;
      }
      log::info("labels: tile ", tiles[t].name, ": ", parcels, " parcels, ", pixels, " pixels in ", K - empty, "/",
                K, " classes; eroded away ", eroded, ", too small ", s[3 * K + 2], ", ignored ", s[3 * K],
                ", unknown code ", s[3 * K + 1], ", invalid ", s[3 * K + 3]);
      auto u = unknown.find(static_cast<int>(t));
      if (u != unknown.end()) {
        std::string list;
        for (const auto& [code, n] : u->second) list += (list.empty() ? "" : ", ") + ("'" + code + "' x" + std::to_string(n));
        log::warn("labels: tile ", tiles[t].name, ": codes not in the legend ", legend.file, ": ", list);
      }
    }
    log::info("labels: summary in ", path);
  }
  return 0;
}

}  // namespace cropmap
