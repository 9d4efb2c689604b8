#include "split.hpp"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <map>
#include <memory>
#include <sstream>
#include <unordered_map>

#include "kernels/distance.hpp"
#include "kernels/split_rules.hpp"
#include "pipeline/cube.hpp"
#include "pipeline/json.hpp"
#include "pipeline/log.hpp"
#include "pipeline/memory.hpp"
#include "pipeline/paths.hpp"
#include "scheduler/block_stage.hpp"
#include "stages/commands.hpp"
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

// What both passes share: the cube, the zones and a unit's block grown by the
// buffer halo, as both passes read it.
class SplitRun {
 public:
  SplitRun(const Config& cfg, const Comm& comm) : cfg_(cfg), sc_(cfg.split) {
    path_ = cubePath(cfg);
    if (!std::filesystem::exists(path_))
      throw UsageError(path_ + ": no cube; run `cropmap composite` and `cropmap labels` first");
    cube_ = Cube::open(path_, comm.raw(), true);
    if (!cube_.hasLayer("label") || !cube_.hasLayer("parcel"))
      throw UsageError(path_ + ": no label layer; run `cropmap labels` first");
    classNames_ = cube_.root().openGroup("legend").attrStrings("class_names");
    zones_ = std::make_unique<ZoneSource>(sc_, cube_.tiles());
    const auto& tiles = cube_.tiles();
    pixel_ = std::fabs(tiles.empty() ? 10.0 : tiles[0].geotransform[1]);
    halo_ = sc_.buffer_m > 0 ? static_cast<int>(std::ceil(sc_.buffer_m / pixel_)) : 0;
    plan_.blockEdge = blockEdge(cfg.composite.block_size, cube_.layout().chunk);
    MemoryBudget(cfg.compute.memory_mb).checkBlock("split", plan_.blockEdge, cube_.layout().chunk, [&](int b) {
      const std::int64_t grown = b + 2 * halo_;
      return grown * grown * 36;  // labels, parcels, zone keys, test mask, distances
    });
    plan_.units = makeUnits(tiles, plan_.blockEdge);
    plan_.assignment = assignmentOf(cfg.compute.scheduler);
    for (const auto& t : tiles) plan_.tiles.push_back(t.name);
    log::info("split: ", sc_.mode, " over ", zones_->describe(), ", buffer ", sc_.buffer_m, " m (", halo_, " px), ",
              plan_.units.size(), " blocks, ", comm.size(), " ranks");
  }

  struct Grown {
    int rows = 0, cols = 0;
    std::vector<std::int16_t> label;
    std::vector<std::int64_t> parcel;
  };
  // The unit's labels and parcels grown by the halo (outside the tile: none),
  // and the zone keys of its pixels into keys() and has().
  Grown read(const WorkUnit& u) {
    const TileGrid& g = cube_.tiles()[static_cast<size_t>(u.tile)];
    Grown b;
    const int gr = u.row0 - halo_, gc = u.col0 - halo_;
    b.rows = u.rows + 2 * halo_;
    b.cols = u.cols + 2 * halo_;
    b.label = readGrown(g, "label", gr, gc, b.rows, b.cols, std::int16_t(-1));
    b.parcel = readGrown(g, "parcel", gr, gc, b.rows, b.cols, std::int64_t(0));
    zones_->keysOf(u.tile, gr, gc, b.rows, b.cols, keys_, has_);
    return b;
  }
  const std::vector<ZoneKey>& keys() const { return keys_; }
  const std::vector<std::uint8_t>& has() const { return has_; }

  Cube& cube() { return cube_; }
  const std::string& path() const { return path_; }
  ZoneSource& zones() { return *zones_; }
  const UnitPlan& plan() const { return plan_; }
  const std::vector<std::string>& classNames() const { return classNames_; }
  int classes() const { return static_cast<int>(classNames_.size()); }
  int halo() const { return halo_; }
  double pixel() const { return pixel_; }

  // The zone table and its splits (after the votes); the decisions for this rank's parcels.
  std::vector<ZoneKey> table;
  kernels::ZoneSplits splits;
  std::unordered_map<std::int64_t, std::int64_t> zoneOfParcel;
  std::vector<std::int64_t> parcelCounts;  // parcels per (split, class), each counted on its owner
  std::int64_t outside = 0;                // parcels in no zone, on their owners

  std::int64_t zoneIndex(const ZoneKey& k) const {
    auto it = std::lower_bound(table.begin(), table.end(), k);
    return (it != table.end() && *it == k) ? static_cast<std::int64_t>(it - table.begin()) : std::int64_t(-1);
  }
  int splitOfZone(std::int64_t z) const { return z >= 0 ? splits.split[static_cast<size_t>(z)] : 0; }

 private:
  // Reads a layer over a window that may reach beyond the tile; outside reads as `fill`.
  template <class T>
  std::vector<T> readGrown(const TileGrid& g, const char* layer, int row0, int col0, int rows, int cols, T fill) {
    std::vector<T> out(static_cast<size_t>(rows) * cols, fill);
    const int r0 = std::max(row0, 0), c0 = std::max(col0, 0), r1 = std::min(row0 + rows, g.height),
              c1 = std::min(col0 + cols, g.width);
    if (r1 <= r0 || c1 <= c0) return out;
    std::vector<T> in(static_cast<size_t>(r1 - r0) * (c1 - c0));
    cube_.readLayer<T>(g.name, layer, Window{r0, c0, r1 - r0, c1 - c0}, in.data());
    for (int y = r0; y < r1; ++y)
      std::copy(in.begin() + static_cast<std::ptrdiff_t>(y - r0) * (c1 - c0),
                in.begin() + static_cast<std::ptrdiff_t>(y - r0 + 1) * (c1 - c0),
                out.begin() + static_cast<std::ptrdiff_t>(y - row0) * cols + (c0 - col0));
    return out;
  }

  const Config& cfg_;
  const SplitSection& sc_;
  std::string path_;
  Cube cube_;
  std::vector<std::string> classNames_;
  std::unique_ptr<ZoneSource> zones_;
  double pixel_ = 10;
  int halo_ = 0;
  UnitPlan plan_;
  std::vector<ZoneKey> keys_;
  std::vector<std::uint8_t> has_;
};

// Pass 1: pixels per (parcel, zone key) of every block's core; then the zone
// table, its splits, and each parcel's zone decided on the parcel's owner rank
// and sent back to the ranks that saw the parcel.
class ZoneVotes : public BlockStage {
 public:
  ZoneVotes(SplitRun& run, const Config& cfg) : BlockStage("split (zones)"), run_(run), cfg_(cfg) {}

  // Votes and counts are integer sums: which rank takes a unit never changes a result.
  UnitPlan prepare(const Comm&) override { return run_.plan(); }

  void process(const WorkUnit& u) override {
    const SplitRun::Grown b = run_.read(u);
    const auto& keys = run_.keys();
    const auto& has = run_.has();
    const int halo = run_.halo();
    for (int y = 0; y < b.rows; ++y)
      for (int x = 0; x < b.cols; ++x) {
        const size_t o = static_cast<size_t>(y) * b.cols + x;
        if (b.label[o] < 0 || b.parcel[o] == 0) continue;
        const bool core = y >= halo && x >= halo && y < halo + u.rows && x < halo + u.cols;
        if (!core || !has[o]) {  // seen only in a halo, or in no zone: the decision is asked for
          asked_.emplace(b.parcel[o], b.label[o]);
          continue;
        }
        auto& v = votes_[{b.parcel[o], keys[o]}];
        v.first += 1;
        v.second = b.label[o];
        if (run_.zones().fromPixels()) seen_.push_back(keys[o]);
      }
    if (run_.zones().fromPixels()) {
      std::sort(seen_.begin(), seen_.end());
      seen_.erase(std::unique(seen_.begin(), seen_.end()), seen_.end());
    }
  }

  void finish(const Comm& comm, const PassResult&) override {
    zoneTable(comm);
    decide(comm);
  }
  void stop(const Comm&) override { run_.cube().close(); }

 private:
  void zoneTable(const Comm& comm) {
    const SplitSection& sc = cfg_.split;
    std::vector<ZoneKey> table = run_.zones().declared();
    if (run_.zones().fromPixels()) {
      std::vector<std::int64_t> flat;
      for (const auto& k : seen_) {
        flat.push_back(k.region);
        flat.push_back(k.zone);
      }
      const auto all = comm.allgatherv(flat, "split: zones seen");
      for (size_t i = 0; i + 1 < all.size(); i += 2) table.push_back({all[i], all[i + 1]});
      std::sort(table.begin(), table.end());
      table.erase(std::unique(table.begin(), table.end()), table.end());
    }
    const auto seed = static_cast<std::uint64_t>(cfg_.run.seed);
    run_.splits = sc.mode == "random_patches" ? kernels::randomPatches(table, seed, sc.ratios, sc.folds)
                                              : kernels::regionHoldout(table, seed, sc.holdout, sc.val_fraction, sc.folds);
    run_.table = std::move(table);
  }

  void decide(const Comm& comm) {
    const int size = comm.size(), K = run_.classes();
    std::vector<std::vector<VoteRecord>> out(static_cast<size_t>(size));
    for (const auto& [key, v] : votes_)
      out[static_cast<size_t>(ownerOf(static_cast<std::uint64_t>(key.first), size))].push_back(
          {key.first, run_.zoneIndex(key.second), v.first, v.second, 0});
    for (const auto& [p, cls] : asked_)
      out[static_cast<size_t>(ownerOf(static_cast<std::uint64_t>(p), size))].push_back({p, -1, 0, cls, 0});
    votes_.clear();
    asked_.clear();
    std::vector<int> from;
    const auto received = comm.exchange(out, "split: parcel votes", &from);
    std::unordered_map<std::int64_t, std::vector<std::pair<std::int64_t, std::int64_t>>> counts;
    std::unordered_map<std::int64_t, int> classOf;
    for (const auto& r : received) {
      auto& c = counts[r.parcel];
      if (r.zone >= 0) c.push_back({r.zone, r.pixels});
      classOf[r.parcel] = r.cls;
    }
    std::unordered_map<std::int64_t, std::int64_t> winner;
    run_.parcelCounts.assign(static_cast<size_t>(4 * K), 0);
    for (auto& [p, c] : counts) {
      const std::int64_t z = kernels::winningZone(c);
      winner[p] = z;
      if (z < 0) ++run_.outside;
      const int cls = classOf[p];
      if (cls >= 0 && cls < K) run_.parcelCounts[static_cast<size_t>(run_.splitOfZone(z) * K + cls)] += 1;
    }
    std::vector<std::vector<Decision>> answers(static_cast<size_t>(size));
    std::vector<std::pair<int, std::int64_t>> pairs;
    for (size_t i = 0; i < received.size(); ++i) pairs.push_back({from[i], received[i].parcel});
    std::sort(pairs.begin(), pairs.end());
    pairs.erase(std::unique(pairs.begin(), pairs.end()), pairs.end());
    for (const auto& [r, p] : pairs) answers[static_cast<size_t>(r)].push_back({p, winner[p]});
    for (const auto& d : comm.exchange(answers, "split: parcel decisions")) run_.zoneOfParcel[d.parcel] = d.zone;
  }

  SplitRun& run_;
  const Config& cfg_;
  std::map<std::pair<std::int64_t, ZoneKey>, std::pair<std::int64_t, int>> votes_;  // -> pixels, class
  std::map<std::int64_t, int> asked_;  // parcels seen only in halos or outside zones
  std::vector<ZoneKey> seen_;
};

// Pass 2: the split and zone layers with the test buffer, over exactly the
// units each rank voted on (a rank holds decisions only for the parcels it
// asked about), then the manifest.
class SplitWriter : public BlockStage {
 public:
  SplitWriter(SplitRun& run, const Config& cfg, std::vector<WorkUnit> mine)
      : BlockStage("split (write)"), run_(run), cfg_(cfg), mine_(std::move(mine)) {}

  UnitPlan prepare(const Comm& comm) override {
    Cube& cube = run_.cube();
    cube.createLayer<std::uint8_t>("split", 0,
                                   {"data split of the pixel (0: none)", "", "train validation test", {1, 2, 3}});
    cube.createLayer<std::int32_t>("zone", -1, {"split zone index (/zones); -1 none", "", "", {}});
    if (cfg_.split.folds >= 2)
      cube.createLayer<std::uint16_t>(
          "fold_buffer", 0,
          {"cross-validation folds whose held-out area lies within split.buffer_m of the pixel (bit k: fold k)", "",
           "", {}});
    writeZoneTable(comm);
    cube.createLedger("split", run_.plan().units);
    cube.flush();
    const int K = run_.classes();
    pixelCounts_.assign(static_cast<size_t>(4 * K), 0);
    bufferPixels_.assign(static_cast<size_t>(K), 0);
    UnitPlan plan = run_.plan();
    plan.assignment = Assignment::replay;
    plan.replay = mine_;
    return plan;
  }

  void process(const WorkUnit& u) override {
    const SplitRun::Grown b = run_.read(u);
    const auto& keys = run_.keys();
    const auto& has = run_.has();
    const int halo = run_.halo(), K = run_.classes();
    auto parcelSplit = [&](std::int64_t p) -> int {
      auto it = run_.zoneOfParcel.find(p);
      return it == run_.zoneOfParcel.end() ? 0 : run_.splitOfZone(it->second);
    };
    // The test area: pixels in test zones and pixels of test parcels.
    std::vector<std::uint8_t> test(static_cast<size_t>(b.rows) * b.cols, 0);
    for (size_t o = 0; o < test.size(); ++o) {
      bool t = has[o] && run_.splitOfZone(run_.zoneIndex(keys[o])) == kernels::kSplitTest;
      if (!t && b.label[o] >= 0 && b.parcel[o] != 0) t = parcelSplit(b.parcel[o]) == kernels::kSplitTest;
      test[o] = t;
    }
    std::vector<double> d2;
    if (halo > 0) d2 = kernels::squaredDistanceTo(test.data(), b.rows, b.cols);
    const double limit2 = (cfg_.split.buffer_m / run_.pixel()) * (cfg_.split.buffer_m / run_.pixel());
    std::vector<std::uint8_t> split(static_cast<size_t>(u.window().pixels()), 0);
    std::vector<std::int32_t> zone(static_cast<size_t>(u.window().pixels()), -1);
    for (int y = 0; y < u.rows; ++y)
      for (int x = 0; x < u.cols; ++x) {
        const size_t o = static_cast<size_t>(y + halo) * b.cols + (x + halo), c = static_cast<size_t>(y) * u.cols + x;
        if (b.label[o] < 0 || b.parcel[o] == 0) continue;
        auto it = run_.zoneOfParcel.find(b.parcel[o]);
        const std::int64_t z = it == run_.zoneOfParcel.end() ? -1 : it->second;
        int s = run_.splitOfZone(z);
        if (s != kernels::kSplitTest && s != 0 && halo > 0 && d2[o] <= limit2) {
          s = 0;
          bufferPixels_[static_cast<size_t>(b.label[o])] += 1;
        }
        split[c] = static_cast<std::uint8_t>(s);
        zone[c] = static_cast<std::int32_t>(z);
        if (b.label[o] < K) pixelCounts_[static_cast<size_t>(s * K + b.label[o])] += 1;
      }
    const std::string& tile = run_.cube().tiles()[static_cast<size_t>(u.tile)].name;
    run_.cube().writeLayer<std::uint8_t>(tile, "split", u.window(), split.data());
    run_.cube().writeLayer<std::int32_t>(tile, "zone", u.window(), zone.data());
    if (cfg_.split.folds >= 2) {
      const auto buffer = foldBuffer(u, b, split, parcelFold(b));
      run_.cube().writeLayer<std::uint16_t>(tile, "fold_buffer", u.window(), buffer.data());
    }
  }

  // The fold of each pixel of the grown block: of its parcel's zone when it
  // is labelled, else of the zone it lies in; -1 none.
  std::vector<std::int32_t> parcelFold(const SplitRun::Grown& b) const {
    const auto& keys = run_.keys();
    const auto& has = run_.has();
    auto foldOf = [&](std::int64_t z) { return z >= 0 ? run_.splits.fold[static_cast<size_t>(z)] : -1; };
    std::vector<std::int32_t> fold(static_cast<size_t>(b.rows) * b.cols, -1);
    for (size_t o = 0; o < fold.size(); ++o) {
      if (b.label[o] >= 0 && b.parcel[o] != 0) {
        auto it = run_.zoneOfParcel.find(b.parcel[o]);
        if (it != run_.zoneOfParcel.end()) {
          fold[o] = foldOf(it->second);
          continue;
        }
      }
      if (has[o]) fold[o] = foldOf(run_.zoneIndex(keys[o]));
    }
    return fold;
  }

  // Bit k of a training or validation pixel of another fold is set when the
  // held-out area of fold k lies within split.buffer_m: training for fold k
  // leaves the pixel out, as training for the final model leaves out the
  // pixels around the test zones.
  std::vector<std::uint16_t> foldBuffer(const WorkUnit& u, const SplitRun::Grown& b,
                                        const std::vector<std::uint8_t>& split,
                                        const std::vector<std::int32_t>& fold) const {
    std::vector<std::uint16_t> out(static_cast<size_t>(u.window().pixels()), 0);
    const int halo = run_.halo();
    if (halo == 0) return out;
    const double limit2 = (cfg_.split.buffer_m / run_.pixel()) * (cfg_.split.buffer_m / run_.pixel());
    std::vector<std::uint8_t> area(fold.size());
    for (int k = 0; k < cfg_.split.folds; ++k) {
      bool any = false;
      for (size_t o = 0; o < fold.size(); ++o) any |= (area[o] = fold[o] == k) != 0;
      if (!any) continue;
      const auto d2 = kernels::squaredDistanceTo(area.data(), b.rows, b.cols);
      for (int y = 0; y < u.rows; ++y)
        for (int x = 0; x < u.cols; ++x) {
          const size_t o = static_cast<size_t>(y + halo) * b.cols + (x + halo), c = static_cast<size_t>(y) * u.cols + x;
          const bool pool = split[c] == kernels::kSplitTrain || split[c] == kernels::kSplitVal;
          if (pool && fold[o] != k && d2[o] <= limit2) out[c] |= static_cast<std::uint16_t>(1u << k);
        }
    }
    return out;
  }
  void commit(const WorkUnit& u) override { run_.cube().markDone("split", u.index); }
  void stop(const Comm&) override { run_.cube().close(); }

  void finish(const Comm& comm, const PassResult&) override {
    std::vector<std::int64_t> sums;
    sums.insert(sums.end(), pixelCounts_.begin(), pixelCounts_.end());
    sums.insert(sums.end(), run_.parcelCounts.begin(), run_.parcelCounts.end());
    sums.insert(sums.end(), bufferPixels_.begin(), bufferPixels_.end());
    sums.push_back(run_.outside);
    comm.sumInPlace(sums, "split: counts");
    run_.cube().close();
    if (comm.root()) manifest(sums);
  }

 private:
  // /zones: region, zone, split and fold per zone index (collective; rank 0 writes the values).
  void writeZoneTable(const Comm& comm) {
    const SplitSection& sc = cfg_.split;
    h5::Group root = run_.cube().root();
    if (root.exists("zones")) root.unlink("zones");
    h5::Group zg = root.createGroup("zones");
    zg.setAttr("mode", sc.mode);
    zg.setAttr("source", run_.zones().describe());
    zg.setAttr("seed", static_cast<std::int64_t>(cfg_.run.seed));
    zg.setAttr("buffer_m", sc.buffer_m);
    zg.setAttr("folds", static_cast<std::int64_t>(sc.folds));
    zg.setAttr("split_names", std::vector<std::string>{"none", "train", "val", "test"});
    const auto& table = run_.table;
    const hsize_t n = table.size();
    std::vector<std::int64_t> region, zone;
    std::vector<std::uint8_t> split;
    std::vector<std::int32_t> fold;
    for (size_t i = 0; i < table.size(); ++i) {
      region.push_back(table[i].region);
      zone.push_back(table[i].zone);
      split.push_back(run_.splits.split[i]);
      fold.push_back(run_.splits.fold[i]);
    }
    auto dr = zg.createDataset<std::int64_t>("region", {n}, {}, 0);
    auto dz = zg.createDataset<std::int64_t>("zone", {n}, {}, 0);
    auto ds = zg.createDataset<std::uint8_t>("split", {n}, {}, 0);
    auto df = zg.createDataset<std::int32_t>("fold", {n}, {}, -1);
    run_.cube().flush();
    if (comm.root() && n > 0) {
      dr.write<std::int64_t>({0}, {n}, region.data());
      dz.write<std::int64_t>({0}, {n}, zone.data());
      ds.write<std::uint8_t>({0}, {n}, split.data());
      df.write<std::int32_t>({0}, {n}, fold.data());
    }
  }

  // split_manifest.json and the log line (rank 0).
  void manifest(const std::vector<std::int64_t>& sums) const {
    const SplitSection& sc = cfg_.split;
    const int K = run_.classes();
    const auto& classNames = run_.classNames();
    const std::int64_t* px = sums.data();  // pixels per (split, class); split 0: buffer and outside zones
    const std::int64_t* pc = px + 4 * K;   // parcels per (split, class)
    const std::int64_t* bp = pc + 4 * K;   // buffer pixels per class
    const std::int64_t outsideParcels = bp[K];
    std::ostringstream js;
    int zonesPer[4] = {0, 0, 0, 0};
    for (auto s : run_.splits.split) zonesPer[s]++;
    js << "{\n  \"mode\": " << json::str(sc.mode) << ",\n  \"zones_source\": " << json::str(run_.zones().describe())
       << ",\n  \"seed\": " << cfg_.run.seed << ",\n  \"buffer_m\": " << sc.buffer_m << ",\n  \"folds\": " << sc.folds
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
    const std::string path = (std::filesystem::path(cfg_.run.output) / "split_manifest.json").string();
    writeTextAtomically(path, js.str());
    std::int64_t tot[4] = {0, 0, 0, 0};
    for (int s = 0; s < 4; ++s)
      for (int c = 0; c < K; ++c) tot[s] += px[s * K + c];
    log::info("split: zones train/val/test ", zonesPer[1], "/", zonesPer[2], "/", zonesPer[3], "; pixels train ",
              tot[1], ", val ", tot[2], ", test ", tot[3], ", none (buffer or outside zones) ", tot[0],
              "; manifest in ", path);
  }

  SplitRun& run_;
  const Config& cfg_;
  std::vector<WorkUnit> mine_;
  std::vector<std::int64_t> pixelCounts_, bufferPixels_;
};

}  // namespace

int runSplit(CommandContext& ctx) {
  const Comm comm(ctx.comm());
  SplitRun run(ctx.config, comm);
  ZoneVotes votes(run, ctx.config);
  const PassResult voted = runBlockStage(votes, comm);
  SplitWriter writer(run, ctx.config, voted.mine);
  runBlockStage(writer, comm);
  return 0;
}

Command splitCommand() {
  Command c;
  c.name = "split";
  c.summary = "spatially disjoint train/validation/test zones, folds and a test buffer, into the cube";
  c.description =
      "Assigns zones (split.zones polygons, a split.grid_km grid, or split.patches per tile) to train,\n"
      "validation and test (split.mode), every parcel wholly to the zone holding most of its pixels,\n"
      "clears a split.buffer_m buffer around test zones, and writes /tiles/<T>/split, /tiles/<T>/zone\n"
      "and /zones into the cube, and <run.output>/split_manifest.json.";
  c.run = runSplit;
  return c;
}

}  // namespace cropmap
