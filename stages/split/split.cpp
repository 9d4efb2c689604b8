#include "split.hpp"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <map>
#include <sstream>
#include <unordered_map>

#include "kernels/distance.hpp"
#include "kernels/split_rules.hpp"
#include "pipeline/cube.hpp"
#include "pipeline/legend.hpp"
#include "pipeline/log.hpp"
#include "pipeline/progress.hpp"
#include "scheduler/mpi_scheduler.hpp"
#include "stages/labels/exchange.hpp"
#include "pipeline/json.hpp"
#include "stages/labels/labels.hpp"
#include "zones.hpp"

namespace cropmap {

namespace {

using kernels::ZoneKey;

struct VoteRecord {  // pixels of a parcel in a zone; zone -1 asks for the decision only
  std::int64_t parcel;
  std::int64_t zone;
  std::int64_t pixels;
  std::int32_t cls;
  std::int32_t pad;
};
struct Decision {
  std::int64_t parcel;
  std::int64_t zone;  // winning zone index, -1 none
};

}  // namespace

int runSplit(CommandContext& ctx) {
  const Config& cfg = ctx.config;
  const SplitSection& sc = cfg.split;
  const int rank = ctx.rank(), size = ctx.size();
  const std::string cubePath = (std::filesystem::path(cfg.run.output) / "cube.h5").string();
  if (!std::filesystem::exists(cubePath))
    throw UsageError(cubePath + ": no cube; run `cropmap composite` and `cropmap labels` first");
  Cube cube = Cube::open(cubePath, ctx.comm(), true);
  if (!cube.hasLayer("label") || !cube.hasLayer("parcel"))
    throw UsageError(cubePath + ": no label layer; run `cropmap labels` first");
  std::vector<std::string> classNames = cube.root().openGroup("legend").attrStrings("class_names");
  const int K = static_cast<int>(classNames.size());
  const auto& tiles = cube.tiles();
  ZoneSource zones(sc, tiles);

  const int block = blockEdge(cube, cfg.composite.block_size);
  const auto units = blockUnits(cube, block);
  // The first pass takes units from the scheduler (votes and counts are integer
  // sums, so which rank processes a unit never changes a result). The second
  // pass must process the same units on the same rank: a rank holds decisions
  // only for the parcels it asked about in the first pass.
  const auto workUnits = schedulerUnits(units);
  std::vector<size_t> myUnits;
  const auto perRank = static_cast<std::int64_t>((units.size() + static_cast<size_t>(size) - 1) / static_cast<size_t>(size));
  const double pixel = std::fabs(tiles.empty() ? 10.0 : tiles[0].geotransform[1]);
  const int halo = sc.buffer_m > 0 ? static_cast<int>(std::ceil(sc.buffer_m / pixel)) : 0;
  log::info("split: ", sc.mode, " over ", zones.describe(), ", buffer ", sc.buffer_m, " m (", halo, " px), ",
            units.size(), " blocks, ", size, " ranks");

  // Reads a layer over a window that may reach beyond the tile; outside reads as `fill`.
  auto readGrown = [&](const TileGrid& g, const char* layer, int row0, int col0, int rows, int cols, auto fill) {
    using T = decltype(fill);
    std::vector<T> out(static_cast<size_t>(rows) * cols, fill);
    const int r0 = std::max(row0, 0), c0 = std::max(col0, 0), r1 = std::min(row0 + rows, g.height),
              c1 = std::min(col0 + cols, g.width);
    if (r1 <= r0 || c1 <= c0) return out;
    std::vector<T> in(static_cast<size_t>(r1 - r0) * (c1 - c0));
    cube.readLayer<T>(g.name, layer, Window{r0, c0, r1 - r0, c1 - c0}, in.data());
    for (int y = r0; y < r1; ++y)
      std::copy(in.begin() + static_cast<std::ptrdiff_t>(y - r0) * (c1 - c0),
                in.begin() + static_cast<std::ptrdiff_t>(y - r0 + 1) * (c1 - c0),
                out.begin() + static_cast<std::ptrdiff_t>(y - row0) * cols + (c0 - col0));
    return out;
  };

  // A unit's block grown by the buffer halo, as both passes read it: labels and
  // parcels, and the zone keys of its pixels into `keys` and `has`.
  struct Grown {
    int rows = 0, cols = 0;
    std::vector<std::int16_t> label;
    std::vector<std::int64_t> parcel;
  };
  std::vector<ZoneKey> keys;
  std::vector<std::uint8_t> has;
  auto readUnit = [&](size_t i) {
    const auto& u = units[i];
    const TileGrid& g = tiles[static_cast<size_t>(u.tile)];
    const Window& w = u.window;
    Grown b;
    const int gr = w.row0 - halo, gc = w.col0 - halo;
    b.rows = w.rows + 2 * halo;
    b.cols = w.cols + 2 * halo;
    b.label = readGrown(g, "label", gr, gc, b.rows, b.cols, std::int16_t(-1));
    b.parcel = readGrown(g, "parcel", gr, gc, b.rows, b.cols, std::int64_t(0));
    zones.keysOf(u.tile, gr, gc, b.rows, b.cols, keys, has);
    return b;
  };

  // ---- 1. votes: pixels per (parcel, zone key) -----------------------------
  std::map<std::pair<std::int64_t, ZoneKey>, std::pair<std::int64_t, int>> votes;  // -> pixels, class
  std::map<std::int64_t, int> asked;  // parcels seen only in halos
  std::vector<ZoneKey> seen;
  {
    Progress progress("split (zones)", perRank, "blocks", rank == 0);
    const auto unitSource = makeUnitSource(cfg.composite.scheduler, workUnits, ctx.comm());
    while (auto wu = unitSource->next()) {
      const size_t i = static_cast<size_t>(wu->index);
      myUnits.push_back(i);
      const auto& u = units[i];
      const Window& w = u.window;
      const Grown b = readUnit(i);
      const auto& label = b.label;
      const auto& parcel = b.parcel;
      const int rows = b.rows, cols = b.cols;
      for (int y = 0; y < rows; ++y)
        for (int x = 0; x < cols; ++x) {
          const size_t o = static_cast<size_t>(y) * cols + x;
          if (label[o] < 0 || parcel[o] == 0) continue;
          const bool core = y >= halo && x >= halo && y < halo + w.rows && x < halo + w.cols;
          if (!core) {
            asked.emplace(parcel[o], label[o]);
            continue;
          }
          if (!has[o]) {
            asked.emplace(parcel[o], label[o]);
            continue;
          }
          auto& v = votes[{parcel[o], keys[o]}];
          v.first += 1;
          v.second = label[o];
          if (zones.fromPixels()) seen.push_back(keys[o]);
        }
      if (zones.fromPixels()) {
        std::sort(seen.begin(), seen.end());
        seen.erase(std::unique(seen.begin(), seen.end()), seen.end());
      }
      progress.add();
    }
    progress.finish();
  }

  // ---- 2. the zone table and its splits -------------------------------------
  std::vector<ZoneKey> table = zones.declared();
  if (zones.fromPixels()) {
    std::vector<std::int64_t> flat;
    for (const auto& k : seen) {
      flat.push_back(k.region);
      flat.push_back(k.zone);
    }
    const auto all = allgatherv(flat, ctx.comm());
    for (size_t i = 0; i + 1 < all.size(); i += 2) table.push_back({all[i], all[i + 1]});
    std::sort(table.begin(), table.end());
    table.erase(std::unique(table.begin(), table.end()), table.end());
  }
  const auto seed = static_cast<std::uint64_t>(cfg.run.seed);
  const kernels::ZoneSplits zs = sc.mode == "random_patches"
                                     ? kernels::randomPatches(table, seed, sc.ratios, sc.folds)
                                     : kernels::regionHoldout(table, seed, sc.holdout, sc.val_fraction, sc.folds);
  auto zoneIndex = [&](const ZoneKey& k) {
    auto it = std::lower_bound(table.begin(), table.end(), k);
    return (it != table.end() && *it == k) ? static_cast<std::int64_t>(it - table.begin()) : std::int64_t(-1);
  };

  // ---- 3. parcel -> zone on the owner rank, answers back to the askers -----
  std::vector<std::vector<VoteRecord>> out(static_cast<size_t>(size));
  for (const auto& [key, v] : votes)
    out[static_cast<size_t>(ownerOf(static_cast<std::uint64_t>(key.first), size))].push_back(
        {key.first, zoneIndex(key.second), v.first, v.second, 0});
  for (const auto& [p, cls] : asked)
    out[static_cast<size_t>(ownerOf(static_cast<std::uint64_t>(p), size))].push_back({p, -1, 0, cls, 0});
  std::vector<int> from;
  const auto received = exchangeRecords(out, ctx.comm(), &from);
  std::unordered_map<std::int64_t, std::vector<std::pair<std::int64_t, std::int64_t>>> counts;
  std::unordered_map<std::int64_t, int> classOf;
  for (const auto& r : received) {
    auto& c = counts[r.parcel];
    if (r.zone >= 0) c.push_back({r.zone, r.pixels});
    classOf[r.parcel] = r.cls;
  }
  std::unordered_map<std::int64_t, std::int64_t> winner;
  // parcels per (split, class), each parcel counted once, on its owner
  std::vector<std::int64_t> parcelCounts(static_cast<size_t>(4 * K), 0);
  std::int64_t outside = 0;
  for (auto& [p, c] : counts) {
    const std::int64_t z = kernels::winningZone(c);
    winner[p] = z;
    const int s = z >= 0 ? zs.split[static_cast<size_t>(z)] : 0;
    if (z < 0) ++outside;
    const int cls = classOf[p];
    if (cls >= 0 && cls < K) parcelCounts[static_cast<size_t>(s * K + cls)] += 1;
  }
  std::vector<std::vector<Decision>> answers(static_cast<size_t>(size));
  {
    std::vector<std::pair<int, std::int64_t>> pairs;
    for (size_t i = 0; i < received.size(); ++i) pairs.push_back({from[i], received[i].parcel});
    std::sort(pairs.begin(), pairs.end());
    pairs.erase(std::unique(pairs.begin(), pairs.end()), pairs.end());
    for (const auto& [r, p] : pairs) answers[static_cast<size_t>(r)].push_back({p, winner[p]});
  }
  const auto decisions = exchangeRecords(answers, ctx.comm());
  std::unordered_map<std::int64_t, std::int64_t> zoneOfParcel;
  for (const auto& d : decisions) zoneOfParcel[d.parcel] = d.zone;
  votes.clear();
  asked.clear();

  // ---- 4. split and zone layers, with the test buffer -----------------------
  cube.createLayer<std::uint8_t>("split", 0);
  cube.createLayer<std::int32_t>("zone", -1);
  {
    h5::Group root = cube.root();
    if (root.exists("zones")) root.unlink("zones");
    h5::Group zg = root.createGroup("zones");
    zg.setAttr("mode", sc.mode);
    zg.setAttr("source", zones.describe());
    zg.setAttr("seed", static_cast<std::int64_t>(cfg.run.seed));
    zg.setAttr("buffer_m", sc.buffer_m);
    zg.setAttr("folds", static_cast<std::int64_t>(sc.folds));
    zg.setAttr("split_names", std::vector<std::string>{"none", "train", "val", "test"});
    const hsize_t n = table.size();
    std::vector<std::int64_t> region, zone;
    std::vector<std::uint8_t> split;
    std::vector<std::int32_t> fold;
    for (size_t i = 0; i < table.size(); ++i) {
      region.push_back(table[i].region);
      zone.push_back(table[i].zone);
      split.push_back(zs.split[i]);
      fold.push_back(zs.fold[i]);
    }
    auto dr = zg.createDataset<std::int64_t>("region", {n}, {}, 0);
    auto dz = zg.createDataset<std::int64_t>("zone", {n}, {}, 0);
    auto ds = zg.createDataset<std::uint8_t>("split", {n}, {}, 0);
    auto df = zg.createDataset<std::int32_t>("fold", {n}, {}, -1);
    cube.flush();
    if (rank == 0 && n > 0) {
      dr.write<std::int64_t>({0}, {n}, region.data());
      dz.write<std::int64_t>({0}, {n}, zone.data());
      ds.write<std::uint8_t>({0}, {n}, split.data());
      df.write<std::int32_t>({0}, {n}, fold.data());
    }
  }
  cube.createLedger("split", units);
  cube.flush();

  // pixels per (split, class); index 0 holds buffer pixels and parcels outside every zone
  std::vector<std::int64_t> pixelCounts(static_cast<size_t>(4 * K), 0), bufferPixels(static_cast<size_t>(K), 0);
  const double limit2 = (sc.buffer_m / pixel) * (sc.buffer_m / pixel);
  {
    Progress progress("split (write)", static_cast<std::int64_t>(myUnits.size()), "blocks", rank == 0);
    for (const size_t i : myUnits) {
      const auto& u = units[i];
      const TileGrid& g = tiles[static_cast<size_t>(u.tile)];
      const Window& w = u.window;
      const Grown b = readUnit(i);
      const auto& label = b.label;
      const auto& parcel = b.parcel;
      const int rows = b.rows, cols = b.cols;
      auto parcelSplit = [&](std::int64_t p) -> int {
        auto it = zoneOfParcel.find(p);
        return it == zoneOfParcel.end() || it->second < 0 ? 0 : zs.split[static_cast<size_t>(it->second)];
      };
      std::vector<std::uint8_t> test(static_cast<size_t>(rows) * cols, 0);
      for (size_t o = 0; o < test.size(); ++o) {
        bool t = false;
        if (has[o]) {
          const auto z = zoneIndex(keys[o]);
          t = z >= 0 && zs.split[static_cast<size_t>(z)] == kernels::kSplitTest;
        }
        if (!t && label[o] >= 0 && parcel[o] != 0) t = parcelSplit(parcel[o]) == kernels::kSplitTest;
        test[o] = t;
      }
      std::vector<double> d2;
      if (halo > 0) d2 = kernels::squaredDistanceTo(test.data(), rows, cols);
      std::vector<std::uint8_t> split(static_cast<size_t>(w.pixels()), 0);
      std::vector<std::int32_t> zone(static_cast<size_t>(w.pixels()), -1);
      for (int y = 0; y < w.rows; ++y)
        for (int x = 0; x < w.cols; ++x) {
          const size_t o = static_cast<size_t>(y + halo) * cols + (x + halo), c = static_cast<size_t>(y) * w.cols + x;
          if (label[o] < 0 || parcel[o] == 0) continue;
          auto it = zoneOfParcel.find(parcel[o]);
          const std::int64_t z = it == zoneOfParcel.end() ? -1 : it->second;
          int s = z >= 0 ? zs.split[static_cast<size_t>(z)] : 0;
          if (s != kernels::kSplitTest && s != 0 && halo > 0 && d2[o] <= limit2) {
            s = 0;
            bufferPixels[static_cast<size_t>(label[o])] += 1;
          }
          split[c] = static_cast<std::uint8_t>(s);
          zone[c] = static_cast<std::int32_t>(z);
          if (label[o] < K) pixelCounts[static_cast<size_t>(s * K + label[o])] += 1;
        }
      cube.writeLayer<std::uint8_t>(g.name, "split", w, split.data());
      cube.writeLayer<std::int32_t>(g.name, "zone", w, zone.data());
      cube.markDone("split", static_cast<std::int64_t>(i));
      progress.add();
    }
    progress.finish();
  }
  std::vector<std::int64_t> sums(pixelCounts.size() + parcelCounts.size() + bufferPixels.size() + 1, 0), local;
  local.insert(local.end(), pixelCounts.begin(), pixelCounts.end());
  local.insert(local.end(), parcelCounts.begin(), parcelCounts.end());
  local.insert(local.end(), bufferPixels.begin(), bufferPixels.end());
  local.push_back(outside);
  CROPMAP_MPI(MPI_Reduce(local.data(), sums.data(), static_cast<int>(local.size()), MPI_INT64_T, MPI_SUM, 0, ctx.comm()));
  cube.close();

  if (rank == 0) {
    const std::int64_t* px = sums.data();
    const std::int64_t* pc = px + 4 * K;
    const std::int64_t* bp = pc + 4 * K;
    const std::int64_t outsideParcels = bp[K];
    std::ostringstream js;
    int zonesPer[4] = {0, 0, 0, 0};
    for (auto s : zs.split) zonesPer[s]++;
    js << "{\n  \"mode\": " << json::str(sc.mode) << ",\n  \"zones_source\": " << json::str(zones.describe())
       << ",\n  \"seed\": " << cfg.run.seed << ",\n  \"buffer_m\": " << sc.buffer_m << ",\n  \"folds\": " << sc.folds
       << ",\n  \"zones\": {\"train\": " << zonesPer[1] << ", \"val\": " << zonesPer[2] << ", \"test\": " << zonesPer[3]
       << "},\n  \"parcel_rule\": \"a parcel goes wholly to the zone holding most of its labelled pixels; ties to the "
          "lower zone index\",\n  \"parcels_outside_zones\": "
       << outsideParcels << ",\n  \"splits\": {";
    std::vector<std::string> warnings;
    for (int s = 1; s <= 3; ++s) {
      js << (s > 1 ? "," : "") << "\n    " << json::str(kernels::splitName(s)) << ": [";
      for (int c = 0; c < K; ++c)
        js << (c ? "," : "") << "\n      {\"class\": " << c << ", \"name\": " << json::str(classNames[c])
           << ", \"parcels\": " << pc[s * K + c] << ", \"pixels\": " << px[s * K + c] << "}";
      js << "\n    ]";
    }
    js << "\n  },\n  \"buffer_pixels\": [";
    for (int c = 0; c < K; ++c) js << (c ? ", " : "") << bp[c];
    js << "],\n  \"warnings\": [";
    for (int c = 0; c < K; ++c) {
      const bool anywhere = px[1 * K + c] + px[2 * K + c] + px[3 * K + c] + bp[c] > 0;
      if (anywhere && px[3 * K + c] == 0)
        warnings.push_back("class " + std::to_string(c) + " (" + classNames[c] + ") has no test samples");
    }
    for (size_t i = 0; i < warnings.size(); ++i) {
      js << (i ? ", " : "") << json::str(warnings[i]);
      log::warn("split: ", warnings[i]);
    }
    js << "]\n}\n";
    const std::string path = (std::filesystem::path(cfg.run.output) / "split_manifest.json").string();
    writeTextAtomically(path, js.str());
    std::int64_t tot[4] = {0, 0, 0, 0};
    for (int s = 0; s < 4; ++s)
      for (int c = 0; c < K; ++c) tot[s] += px[s * K + c];
    log::info("split: zones train/val/test ", zonesPer[1], "/", zonesPer[2], "/", zonesPer[3], "; pixels train ",
              tot[1], ", val ", tot[2], ", test ", tot[3], ", none (buffer or outside zones) ", tot[0],
              "; manifest in ", path);
  }
  return 0;
}

}  // namespace cropmap
