#include "sample.hpp"

#include <algorithm>
#include <array>
#include <cmath>
#include <filesystem>
#include <limits>
#include <map>
#include <sstream>
#include <unordered_map>

#include "kernels/sampling.hpp"
#include "kernels/split_rules.hpp"
#include "pipeline/cube.hpp"
#include "pipeline/log.hpp"
#include "pipeline/paths.hpp"
#include "pipeline/samples.hpp"
#include "scheduler/block_stage.hpp"
#include "stages/commands.hpp"

namespace cropmap {

namespace {

constexpr int kSplits = 5;  // index = SplitCode (0 unused), then the cross-validation pool
constexpr int kPool = 4;    // rows for scoring folds: training and validation zones, in class proportions
const char* rowSetName(int s) { return s == kPool ? "cv" : kernels::splitName(s); }
constexpr std::uint64_t kParcelSalt = 0x9a3ce1;
constexpr std::int64_t kRowBlock = 256;  // parcel rows per owner chunk (fixed: keeps sums rank-count independent)

struct Candidate {
  std::uint64_t hash;
  std::int64_t key;
  std::int32_t split;
  std::int32_t cls;
  bool operator<(const Candidate& o) const { return hash != o.hash ? hash < o.hash : key < o.key; }
};

std::int64_t pixelKey(int tile, int row, int col) {
  return (static_cast<std::int64_t>(tile) << 42) | (static_cast<std::int64_t>(row) << 21) | col;
}

struct PixelData {  // one pixel of a selected parcel, on its way to the owner
  std::int64_t parcel;
  std::int64_t key;
  std::int32_t zone;
  std::int32_t split;
};

// The cube and its layers as every pass reads them, and what the passes
// decide in turn: the units available per (split, class), the targets, and
// the selection thresholds.
class SampleRun {
 public:
  SampleRun(const Config& cfg, const Comm& comm) : cfg_(cfg), sc_(cfg.sample), parcelLevel_(sc_.level == "parcel") {
    const std::string path = cubePath(cfg);
    if (!std::filesystem::exists(path)) throw UsageError(path + ": no cube; run composite, labels and split first");
    cube_ = Cube::open(path, comm.raw(), false);
    if (!cube_.hasLayer("split") || !cube_.hasLayer("zone"))
      throw UsageError(path + ": no split layer; run `cropmap split` first");
    classNames_ = cube_.root().openGroup("legend").attrStrings("class_names");
    K_ = static_cast<int>(classNames_.size());
    h5::Dataset fd = cube_.root().openGroup("zones").openDataset("fold");
    const auto n = fd.dims().at(0);
    std::vector<std::int32_t> f(n);
    if (n) fd.read<std::int32_t>({0}, {n}, f.data());
    zoneFold_.assign(f.begin(), f.end());
    folds_ = cfg.split.folds >= 2 && cube_.hasLayer("fold_buffer") ? cfg.split.folds : 0;
    if (cfg.split.folds >= 2 && !folds_)
      throw UsageError(path + ": split.folds is " + std::to_string(cfg.split.folds) +
                       " but the cube's split has no folds; rerun `cropmap split`");
    if (folds_ && parcelLevel_)
      log::warn("sample: cross-validation rows (/cv) are drawn at pixel level only; sample.level parcel "
                "writes none, so `cropmap cv` needs sample.level pixel");
    // Ranks read contiguous runs of the canonical unit list, so that rows
    // concatenated in rank order are in unit order at any rank count.
    plan_.blockEdge = blockEdge(cfg.composite.block_size, cube_.layout().chunk);
    plan_.units = makeUnits(cube_.tiles(), plan_.blockEdge);
    plan_.assignment = Assignment::contiguous;
    for (const auto& t : cube_.tiles()) plan_.tiles.push_back(t.name);
    avail.assign(static_cast<size_t>(kSplits * K_), 0);
    target.assign(avail.size(), 0);
    cutoff.assign(avail.size(), Candidate{std::numeric_limits<std::uint64_t>::max(),
                                          std::numeric_limits<std::int64_t>::max(), 0, 0});
    takeAll.assign(avail.size(), 1);
    selectedParcels.assign(kSplits, {});
    log::info("sample: ", sc_.level, " level from ", path, ", ", plan_.units.size(), " blocks, ", comm.size(),
              " ranks");
  }

  struct Layers {
    std::vector<std::int16_t> label;
    std::vector<std::uint8_t> split;
    std::vector<std::int32_t> zone;
    std::vector<std::int64_t> parcel;
    std::vector<std::uint16_t> foldBuffer;
  };
  // The unit's label and split layers; with `all` also zone and parcel (parcel always at parcel level).
  Layers readLayers(const WorkUnit& u, bool all) {
    Layers l;
    const auto& name = cube_.tiles()[static_cast<size_t>(u.tile)].name;
    const size_t n = static_cast<size_t>(u.window().pixels());
    l.label.resize(n);
    l.split.resize(n);
    cube_.readLayer<std::int16_t>(name, "label", u.window(), l.label.data());
    cube_.readLayer<std::uint8_t>(name, "split", u.window(), l.split.data());
    if (all || parcelLevel_) {
      l.parcel.resize(n);
      cube_.readLayer<std::int64_t>(name, "parcel", u.window(), l.parcel.data());
    }
    if (all) {
      l.zone.resize(n);
      cube_.readLayer<std::int32_t>(name, "zone", u.window(), l.zone.data());
      if (folds_) {
        l.foldBuffer.resize(n);
        cube_.readLayer<std::uint16_t>(name, "fold_buffer", u.window(), l.foldBuffer.data());
      }
    }
    return l;
  }
  bool usable(const Layers& l, size_t i) const { return l.split[i] != 0 && l.label[i] >= 0 && l.label[i] < K_; }
  // A usable pixel that the cross-validation pool also draws from.
  bool pooled(const Layers& l, size_t i) const {
    return folds_ && !parcelLevel_ && (l.split[i] == kernels::kSplitTrain || l.split[i] == kernels::kSplitVal);
  }
  int folds() const { return folds_; }
  size_t cell(int split, int cls) const { return static_cast<size_t>(split * K_ + cls); }

  // Calls visit(p, row, col, value) for each pixel of the unit that want(p,
  // row, col) selects, where p indexes the unit's layers, (row, col) is the
  // tile pixel and value(t, b) its stored reflectance. Chunk by chunk, reading
  // only chunks that hold a selected pixel: memory bounded by the chunk, not
  // the block.
  template <class Want, class Visit>
  void forEachSelected(const WorkUnit& u, Want&& want, Visit&& visit) {
    const auto& tname = cube_.tiles()[static_cast<size_t>(u.tile)].name;
    const int chunk = cube_.layout().chunk, P = cube_.periods(), B = cube_.bands();
    std::vector<std::pair<int, int>> pick;  // (local row, local col) in the chunk
    for (int cr = 0; cr < u.rows; cr += chunk)
      for (int cc = 0; cc < u.cols; cc += chunk) {
        const int rows = std::min(chunk, u.rows - cr), cols = std::min(chunk, u.cols - cc);
        pick.clear();
        for (int y = 0; y < rows; ++y)
          for (int x = 0; x < cols; ++x)
            if (want(static_cast<size_t>(cr + y) * u.cols + (cc + x), u.row0 + cr + y, u.col0 + cc + x))
              pick.push_back({y, x});
        if (pick.empty()) continue;
        refl_.resize(static_cast<size_t>(P) * B * rows * cols);
        cube_.readReflectance(tname, Window{u.row0 + cr, u.col0 + cc, rows, cols}, refl_.data());
        for (const auto& [y, x] : pick) {
          auto value = [&, y = y, x = x](int t, int b) {
            return refl_[((static_cast<size_t>(t) * B + b) * rows + y) * cols + x];
          };
          visit(static_cast<size_t>(cr + y) * u.cols + (cc + x), u.row0 + cr + y, u.col0 + cc + x, value);
        }
      }
  }

  std::int32_t foldOfZone(std::int32_t zone) const {
    return zone >= 0 && static_cast<size_t>(zone) < zoneFold_.size() ? static_cast<std::int32_t>(zoneFold_[zone]) : -1;
  }
  bool selected(size_t i, std::uint64_t h, std::int64_t key) const {
    return takeAll[i] || !(cutoff[i] < Candidate{h, key, 0, 0});
  }

  Cube& cube() { return cube_; }
  const UnitPlan& plan() const { return plan_; }
  const std::vector<std::string>& classNames() const { return classNames_; }
  int classes() const { return K_; }
  bool parcelLevel() const { return parcelLevel_; }
  const SampleSection& options() const { return sc_; }
  const Config& config() const { return cfg_; }
  std::uint64_t seed() const { return static_cast<std::uint64_t>(cfg_.run.seed); }

  std::vector<std::int64_t> avail, target;              // per (split, class)
  std::map<std::int64_t, std::pair<int, int>> ownedParcels;  // parcel -> (split, class), on its owner rank
  std::vector<Candidate> cutoff;                        // the last selected candidate per (split, class)
  std::vector<std::uint8_t> takeAll;                    // every unit of the (split, class) is selected
  std::vector<std::vector<Candidate>> selectedParcels;  // parcel level, per split: known on every rank

 private:
  const Config& cfg_;
  const SampleSection& sc_;
  bool parcelLevel_;
  Cube cube_;
  std::vector<std::string> classNames_;
  int K_ = 0;
  std::vector<std::int64_t> zoneFold_;
  int folds_ = 0;
  UnitPlan plan_;
  std::vector<std::uint16_t> refl_;
};

// Pass 1: the units available per (split, class); at parcel level each
// parcel is counted once, on its owner rank. Then the per-class targets.
class ClassCounts : public BlockStage {
 public:
  explicit ClassCounts(SampleRun& run) : BlockStage("sample (count)"), run_(run), local_(run.avail.size(), 0) {}

  UnitPlan prepare(const Comm& comm) override {
    out_.assign(static_cast<size_t>(comm.size()), {});
    return run_.plan();
  }
  void stop(const Comm&) override { run_.cube().close(); }

  void process(const WorkUnit& u) override {
    const auto l = run_.readLayers(u, false);
    std::map<std::int64_t, std::pair<int, int>> seen;
    for (size_t p = 0; p < l.label.size(); ++p) {
      if (!run_.usable(l, p)) continue;
      if (run_.parcelLevel()) seen[l.parcel[p]] = {l.split[p], l.label[p]};
      else local_[run_.cell(l.split[p], l.label[p])] += 1;
      if (run_.pooled(l, p)) local_[run_.cell(kPool, l.label[p])] += 1;
    }
    const int size = static_cast<int>(out_.size());
    for (const auto& [p, sc] : seen)
      out_[static_cast<size_t>(ownerOf(static_cast<std::uint64_t>(p), size))].push_back({p, sc.first, sc.second});
  }

  void finish(const Comm& comm, const PassResult&) override {
    if (run_.parcelLevel()) {
      for (const auto& r : comm.exchange(out_, "sample: parcels per split and class"))
        run_.ownedParcels[r[0]] = {static_cast<int>(r[1]), static_cast<int>(r[2])};
      for (const auto& [p, sc] : run_.ownedParcels) local_[run_.cell(sc.first, sc.second)] += 1;
    }
    run_.avail = local_;
    comm.sumInPlace(run_.avail, "sample: available units");
    targets(comm);
  }

 private:
  void targets(const Comm& comm) {
    const auto& sc = run_.options();
    const int K = run_.classes();
    for (int s = 1; s < kSplits; ++s) {
      std::vector<std::int64_t> n(run_.avail.begin() + s * K, run_.avail.begin() + (s + 1) * K);
      const bool train = s == kernels::kSplitTrain;
      const auto plan = train ? kernels::stratifiedCounts(n, sc.train_size, sc.min_per_class, sc.damping, sc.percentile)
                              : kernels::stratifiedCounts(n, sc.eval_size, 0, 1.0, sc.percentile);
      std::copy(plan.target.begin(), plan.target.end(), run_.target.begin() + s * K);
      if (train && comm.root()) {
        std::string rare;
        for (int c = 0; c < K; ++c)
          if (plan.rare[c] && n[c] > 0) rare += (rare.empty() ? "" : ", ") + run_.classNames()[c];
        log::info("sample: train priors split at the ", sc.percentile, "th percentile (", plan.threshold,
                  "); rare classes: ", rare.empty() ? "none" : rare);
      }
    }
  }

  SampleRun& run_;
  std::vector<std::int64_t> local_;
  std::vector<std::vector<std::array<std::int64_t, 3>>> out_;  // (parcel, split, class) by owner rank
};

// Pass 2 (pixel level): this rank's candidates, the units whose hash is below
// the (split, class) threshold.
class PixelCandidates : public BlockStage {
 public:
  PixelCandidates(SampleRun& run, const std::vector<std::uint8_t>& pending, const std::vector<double>& theta,
                  std::vector<Candidate>& out)
      : BlockStage("sample (select)"), run_(run), pending_(pending), theta_(theta), out_(out) {}

  UnitPlan prepare(const Comm&) override { return run_.plan(); }
  void stop(const Comm&) override { run_.cube().close(); }

  void process(const WorkUnit& u) override {
    const auto l = run_.readLayers(u, false);
    for (size_t p = 0; p < l.label.size(); ++p) {
      if (!run_.usable(l, p)) continue;
      const int row = u.row0 + static_cast<int>(p) / u.cols, col = u.col0 + static_cast<int>(p) % u.cols;
      const auto h = kernels::mixHash(run_.seed(), static_cast<std::uint64_t>(u.tile), static_cast<std::uint64_t>(row),
                                      static_cast<std::uint64_t>(col));
      for (const int s : {static_cast<int>(l.split[p]), run_.pooled(l, p) ? kPool : 0}) {
        if (s == 0) continue;
        const size_t i = run_.cell(s, l.label[p]);
        if (pending_[i] && below(theta_[i], h)) out_.push_back({h, pixelKey(u.tile, row, col), s, l.label[p]});
      }
    }
  }
  void finish(const Comm&, const PassResult&) override {}

  static bool below(double theta, std::uint64_t h) {
    return theta >= 1.0 || static_cast<double>(h) < theta * 18446744073709551616.0;
  }

 private:
  SampleRun& run_;
  const std::vector<std::uint8_t>& pending_;
  const std::vector<double>& theta_;
  std::vector<Candidate>& out_;
};

// The exact selection: per (split, class) the t units with the smallest
// hashes. Thresholds a little above t/n keep the candidate exchange near t per
// class; a class short of candidates is retried with every unit.
void select(SampleRun& run, const Comm& comm) {
  const size_t cells = run.avail.size();
  const int K = run.classes();
  std::vector<double> theta(cells, 1.0);
  std::vector<std::uint8_t> pending(cells, 0);
  for (size_t i = 0; i < cells; ++i) {
    if (run.target[i] < run.avail[i]) {
      run.takeAll[i] = 0;
      const double t = static_cast<double>(run.target[i]);
      theta[i] = std::min(1.0, (t + 4 * std::sqrt(t) + 16) / static_cast<double>(run.avail[i]));
    }
    pending[i] = !run.takeAll[i] || run.parcelLevel();
  }
  for (int attempt = 0; attempt < 2; ++attempt) {
    std::vector<Candidate> mine;
    if (run.parcelLevel()) {
      for (const auto& [p, sc] : run.ownedParcels) {
        const size_t i = run.cell(sc.first, sc.second);
        const auto h = kernels::mixHash(run.seed(), kParcelSalt, static_cast<std::uint64_t>(p));
        if (pending[i] && PixelCandidates::below(theta[i], h)) mine.push_back({h, p, sc.first, sc.second});
      }
    } else {
      PixelCandidates pass(run, pending, theta, mine);
      runBlockStage(pass, comm);
    }
    // Every rank sees every candidate: the selection is computed alike everywhere.
    std::vector<std::vector<Candidate>> toAll(static_cast<size_t>(comm.size()), mine);
    auto all = comm.exchange(toAll, "sample: candidates");
    std::sort(all.begin(), all.end());
    std::vector<std::int64_t> got(cells, 0);
    bool retry = false;
    for (const auto& c : all) {
      const size_t i = run.cell(c.split, c.cls);
      if (!pending[i] || got[i] >= run.target[i]) continue;
      ++got[i];
      if (got[i] == run.target[i]) run.cutoff[i] = c;
      if (run.parcelLevel()) run.selectedParcels[static_cast<size_t>(c.split)].push_back(c);
    }
    for (size_t i = 0; i < cells; ++i) {
      if (!pending[i]) continue;
      if (got[i] >= run.target[i]) {
        pending[i] = 0;
        continue;
      }
      // Only possible below the full threshold: take every unit next time.
      theta[i] = 1.0;
      retry = true;
      if (run.parcelLevel())
        for (auto& list : run.selectedParcels)
          list.erase(std::remove_if(list.begin(), list.end(),
                                    [&](const Candidate& c) { return run.cell(c.split, c.cls) == i; }),
                     list.end());
    }
    if (!retry) break;
  }
  (void)K;
}

using SplitRows = std::vector<std::pair<std::string, SampleSplit>>;  // index = split - 1

// Pass 3 (pixel level): the selected pixels' series, in unit order; the band
// statistics of the training split from exact integer sums of the stored
// values, so they do not depend on the order in which ranks add them.
class PixelRows : public BlockStage {
 public:
  PixelRows(SampleRun& run, SplitRows& rows) : BlockStage("sample"), run_(run), rows_(rows) {
    const int B = run.cube().bands();
    isum_.assign(static_cast<size_t>(B), 0);
    icnt_.assign(static_cast<size_t>(B), 0);
    isq_.assign(static_cast<size_t>(B), 0.0);
  }

  UnitPlan prepare(const Comm&) override { return run_.plan(); }
  void stop(const Comm&) override { run_.cube().close(); }

  void process(const WorkUnit& u) override {
    const auto l = run_.readLayers(u, true);
    // The row sets a pixel goes to: its split's, the cross-validation pool's, or both.
    auto sets = [&](size_t p, int row, int col) {
      std::array<int, 2> in{0, 0};
      if (!run_.usable(l, p)) return in;
      const auto h = kernels::mixHash(run_.seed(), static_cast<std::uint64_t>(u.tile), static_cast<std::uint64_t>(row),
                                      static_cast<std::uint64_t>(col));
      if (run_.selected(run_.cell(l.split[p], l.label[p]), h, pixelKey(u.tile, row, col))) in[0] = l.split[p];
      if (run_.pooled(l, p) && run_.selected(run_.cell(kPool, l.label[p]), h, pixelKey(u.tile, row, col)))
        in[1] = kPool;
      return in;
    };
    auto want = [&](size_t p, int row, int col) {
      const auto in = sets(p, row, col);
      return in[0] != 0 || in[1] != 0;
    };
    run_.forEachSelected(u, want, [&](size_t p, int row, int col, auto&& value) {
      for (const int s : sets(p, row, col))
        if (s != 0) push(rows_[static_cast<size_t>(s - 1)].second, s == kernels::kSplitTrain, l, p, u.tile, row, col, value);
    });
  }

  template <class Value>
  void push(SampleSplit& r, bool train, const SampleRun::Layers& l, size_t p, int tile, int row, int col, Value&& value) {
    const int P = run_.cube().periods(), B = run_.cube().bands();
    const auto& layout = run_.cube().layout();
    for (int t = 0; t < P; ++t)
      for (int b = 0; b < B; ++b) {
        const std::uint16_t v = value(t, b);
        if (v == layout.fillValue) {
          r.x.push_back(std::numeric_limits<float>::quiet_NaN());
          ++missing;
          continue;
        }
        r.x.push_back(static_cast<float>(v * layout.scaleFactor + layout.bandOffsets[static_cast<size_t>(b)]));
        if (train) {
          isum_[static_cast<size_t>(b)] += v;
          isq_[static_cast<size_t>(b)] += static_cast<double>(v) * v;  // < 2^53 for any realistic sample: exact
          icnt_[static_cast<size_t>(b)] += 1;
        }
      }
    r.y.push_back(l.label[p]);
    r.parcel.push_back(l.parcel[p]);
    r.tile.push_back(tile);
    r.row.push_back(row);
    r.col.push_back(col);
    r.zone.push_back(l.zone[p]);
    r.fold.push_back(run_.foldOfZone(l.zone[p]));
    if (!l.foldBuffer.empty()) r.foldBuffer.push_back(l.foldBuffer[p]);
  }

  void finish(const Comm& comm, const PassResult&) override {
    comm.sumInPlace(isum_, "sample: band sums");
    comm.sumInPlace(icnt_, "sample: band counts");
    comm.sumInPlace(isq_, "sample: band squares");
    // Rows land in file order by an exclusive prefix sum of the per-rank counts.
    for (auto& [name, r] : rows_) {
      r.n = static_cast<std::int64_t>(r.y.size());
      r.offset = comm.exclusivePrefixSum(r.n, "sample: row offsets");
      r.total = comm.sum(r.n, "sample: rows");
    }
  }

  // Mean and standard deviation per band of the training rows, in the units of x.
  void bandStatistics(std::vector<double>& mean, std::vector<double>& sd) const {
    const auto& layout = run_.cube().layout();
    for (size_t b = 0; b < isum_.size(); ++b) {
      const double n = static_cast<double>(std::max<std::int64_t>(icnt_[b], 1));
      double m = static_cast<double>(isum_[b]) / n, var = isq_[b] / n - m * m;
      var *= layout.scaleFactor * layout.scaleFactor;
      m = m * layout.scaleFactor + layout.bandOffsets[b];
      mean.push_back(m);
      sd.push_back(std::sqrt(std::max(var, 0.0)));
    }
  }

  std::int64_t missing = 0;

 private:
  SampleRun& run_;
  SplitRows& rows_;
  std::vector<std::int64_t> isum_, icnt_;
  std::vector<double> isq_;
};

// Pass 3 (parcel level): each selected parcel's pixels travel to the rank
// owning its row; rows are in parcel-id order, row chunks of kRowBlock owned
// by contiguous runs of ranks, so offsets are positions in the sorted list.
// Per period and band a row holds the mean and the median of the parcel's
// pixels.
class ParcelRows : public BlockStage {
 public:
  ParcelRows(SampleRun& run, SplitRows& rows) : BlockStage("sample"), run_(run), rows_(rows) {}

  UnitPlan prepare(const Comm& comm) override {
    size_ = comm.size();
    position_.assign(kSplits, {});
    chunksOf_.assign(kSplits, 0);
    for (int s = 1; s < kSplits; ++s) {
      auto& list = run_.selectedParcels[static_cast<size_t>(s)];
      std::sort(list.begin(), list.end(), [](const Candidate& a, const Candidate& b) { return a.key < b.key; });
      for (size_t i = 0; i < list.size(); ++i)
        position_[static_cast<size_t>(s)][list[i].key] = static_cast<std::int64_t>(i);
      chunksOf_[static_cast<size_t>(s)] = (static_cast<std::int64_t>(list.size()) + kRowBlock - 1) / kRowBlock;
    }
    headers_.assign(static_cast<size_t>(size_), {});
    values_.assign(static_cast<size_t>(size_), {});
    return run_.plan();
  }
  void stop(const Comm&) override { run_.cube().close(); }

  void process(const WorkUnit& u) override {
    const auto l = run_.readLayers(u, true);
    const int P = run_.cube().periods(), B = run_.cube().bands();
    auto want = [&](size_t p, int, int) {
      return run_.usable(l, p) && position_[l.split[p]].count(l.parcel[p]) > 0;
    };
    run_.forEachSelected(u, want, [&](size_t p, int row, int col, auto&& value) {
      const int s = l.split[p];
      const int dest = ownerOfRow(s, position_[static_cast<size_t>(s)].at(l.parcel[p]));
      headers_[static_cast<size_t>(dest)].push_back({l.parcel[p], pixelKey(u.tile, row, col), l.zone[p], s});
      for (int t = 0; t < P; ++t)
        for (int b = 0; b < B; ++b) values_[static_cast<size_t>(dest)].push_back(value(t, b));
    });
  }

  void finish(const Comm& comm, const PassResult&) override {
    const auto hin = comm.exchange(headers_, "sample: parcel pixels");
    const auto vin = comm.exchange(values_, "sample: parcel values");
    headers_.clear();
    values_.clear();
    allocateRows(comm.rank());
    aggregate(hin, vin);
    bandStatistics(comm);
  }

  void bandStatistics(std::vector<double>& mean, std::vector<double>& sd) const {
    for (size_t b = 0; b < bandSum_.size(); ++b) {
      const double n = static_cast<double>(std::max<std::int64_t>(bandN_[b], 1));
      const double m = bandSum_[b] / n, var = bandSq_[b] / n - m * m;
      mean.push_back(m);
      sd.push_back(std::sqrt(std::max(var, 0.0)));
    }
  }

  std::int64_t missing = 0;

 private:
  int ownerOfRow(int s, std::int64_t pos) const {
    const std::int64_t nc = chunksOf_[static_cast<size_t>(s)], c = pos / kRowBlock;
    return static_cast<int>(c * size_ / std::max<std::int64_t>(nc, 1));
  }

  // My rows: per split, the chunks I own.
  void allocateRows(int rank) {
    const int P = run_.cube().periods(), Bx = 2 * run_.cube().bands();
    chunkSum_.assign(kSplits, {});
    chunkSq_.assign(kSplits, {});
    chunkN_.assign(kSplits, {});
    for (int s = 1; s < kSplits; ++s) {
      auto& r = rows_[static_cast<size_t>(s - 1)].second;
      const auto& list = run_.selectedParcels[static_cast<size_t>(s)];
      const std::int64_t n = static_cast<std::int64_t>(list.size());
      std::int64_t first = -1, last = -1;
      for (std::int64_t pos = 0; pos < n; ++pos)
        if (ownerOfRow(s, pos) == rank) {
          if (first < 0) first = pos;
          last = pos;
        }
      r.total = n;
      r.offset = first < 0 ? 0 : first;
      r.n = first < 0 ? 0 : last - first + 1;
      r.x.assign(static_cast<size_t>(r.n) * P * Bx, std::numeric_limits<float>::quiet_NaN());
      r.y.assign(static_cast<size_t>(r.n), -1);
      r.parcel.assign(static_cast<size_t>(r.n), 0);
      r.tile.assign(static_cast<size_t>(r.n), -1);
      r.row.assign(static_cast<size_t>(r.n), -1);
      r.col.assign(static_cast<size_t>(r.n), -1);
      r.zone.assign(static_cast<size_t>(r.n), -1);
      r.fold.assign(static_cast<size_t>(r.n), -1);
      for (std::int64_t i = 0; i < r.n; ++i) {
        const auto& c = list[static_cast<size_t>(r.offset + i)];
        r.parcel[static_cast<size_t>(i)] = c.key;
        r.y[static_cast<size_t>(i)] = static_cast<std::int16_t>(c.cls);
      }
      chunkSum_[s].assign(static_cast<size_t>(chunksOf_[s]) * Bx, 0.0);
      chunkSq_[s].assign(static_cast<size_t>(chunksOf_[s]) * Bx, 0.0);
      chunkN_[s].assign(static_cast<size_t>(chunksOf_[s]) * Bx, 0);
    }
  }

  // Groups the pixels of each parcel, in key order, so sums do not depend on arrival order.
  void aggregate(const std::vector<PixelData>& hin, const std::vector<std::uint16_t>& vin) {
    const int P = run_.cube().periods(), B = run_.cube().bands(), Bx = 2 * B;
    const auto& layout = run_.cube().layout();
    const size_t valuesPer = static_cast<size_t>(P) * B;
    std::vector<size_t> order(hin.size());
    for (size_t i = 0; i < order.size(); ++i) order[i] = i;
    std::sort(order.begin(), order.end(), [&](size_t a, size_t b) {
      return hin[a].parcel != hin[b].parcel ? hin[a].parcel < hin[b].parcel : hin[a].key < hin[b].key;
    });
    std::vector<double> vals;
    for (size_t a = 0; a < order.size();) {
      size_t b = a;
      while (b < order.size() && hin[order[b]].parcel == hin[order[a]].parcel) ++b;
      const PixelData& h0 = hin[order[a]];
      const int s = h0.split;
      auto& r = rows_[static_cast<size_t>(s - 1)].second;
      const std::int64_t i = position_[static_cast<size_t>(s)].at(h0.parcel) - r.offset;
      r.tile[static_cast<size_t>(i)] = static_cast<std::int32_t>(h0.key >> 42);
      r.row[static_cast<size_t>(i)] = static_cast<std::int32_t>((h0.key >> 21) & 0x1fffff);
      r.col[static_cast<size_t>(i)] = static_cast<std::int32_t>(h0.key & 0x1fffff);
      r.zone[static_cast<size_t>(i)] = h0.zone;
      r.fold[static_cast<size_t>(i)] = run_.foldOfZone(h0.zone);
      for (int t = 0; t < P; ++t)
        for (int band = 0; band < B; ++band) {
          vals.clear();
          double sum = 0;
          for (size_t k = a; k < b; ++k) {
            const std::uint16_t v = vin[order[k] * valuesPer + static_cast<size_t>(t) * B + band];
            if (v == layout.fillValue) continue;
            const double x = v * layout.scaleFactor + layout.bandOffsets[static_cast<size_t>(band)];
            vals.push_back(x);
            sum += x;
          }
          float* row = r.x.data() + (static_cast<size_t>(i) * P + t) * Bx;
          if (vals.empty()) {
            ++missing;
            continue;
          }
          std::sort(vals.begin(), vals.end());
          const size_t m = vals.size();
          const double median = m % 2 ? vals[m / 2] : 0.5 * (vals[m / 2 - 1] + vals[m / 2]);
          row[band] = static_cast<float>(sum / static_cast<double>(m));
          row[B + band] = static_cast<float>(median);
        }
      if (s == kernels::kSplitTrain) {
        const size_t ch = static_cast<size_t>((r.offset + i) / kRowBlock);
        for (int t = 0; t < P; ++t)
          for (int band = 0; band < Bx; ++band) {
            const float v = r.x[(static_cast<size_t>(i) * P + t) * Bx + band];
            if (std::isnan(v)) continue;
            chunkSum_[s][ch * Bx + band] += v;
            chunkSq_[s][ch * Bx + band] += static_cast<double>(v) * v;
            chunkN_[s][ch * Bx + band] += 1;
          }
      }
      a = b;
    }
  }

  // Each row chunk is summed by one rank only: reducing adds exact zeros, and
  // summing chunks in order gives the same bits at any rank count.
  void bandStatistics(const Comm& comm) {
    const int s = kernels::kSplitTrain, Bx = 2 * run_.cube().bands();
    comm.sumInPlace(chunkSum_[s], "sample: parcel band sums");
    comm.sumInPlace(chunkSq_[s], "sample: parcel band squares");
    comm.sumInPlace(chunkN_[s], "sample: parcel band counts");
    bandSum_.assign(static_cast<size_t>(Bx), 0.0);
    bandSq_.assign(static_cast<size_t>(Bx), 0.0);
    bandN_.assign(static_cast<size_t>(Bx), 0);
    for (std::int64_t c = 0; c < chunksOf_[s]; ++c)
      for (int band = 0; band < Bx; ++band) {
        bandSum_[static_cast<size_t>(band)] += chunkSum_[s][static_cast<size_t>(c) * Bx + band];
        bandSq_[static_cast<size_t>(band)] += chunkSq_[s][static_cast<size_t>(c) * Bx + band];
        bandN_[static_cast<size_t>(band)] += chunkN_[s][static_cast<size_t>(c) * Bx + band];
      }
  }

  SampleRun& run_;
  SplitRows& rows_;
  int size_ = 1;
  std::vector<std::unordered_map<std::int64_t, std::int64_t>> position_;  // per split: parcel -> row
  std::vector<std::int64_t> chunksOf_;
  std::vector<std::vector<PixelData>> headers_;
  std::vector<std::vector<std::uint16_t>> values_;
  std::vector<std::vector<double>> chunkSum_, chunkSq_;
  std::vector<std::vector<std::int64_t>> chunkN_;
  std::vector<double> bandSum_, bandSq_;
  std::vector<std::int64_t> bandN_;
};

// The file's attributes: names, periods, band statistics, class weights and the formula.
SampleFileInfo attributes(SampleRun& run, const SplitRows& rows, const Comm& comm, std::vector<double> mean,
                           std::vector<double> sd) {
  const auto& sc = run.options();
  const int K = run.classes();
  SampleFileInfo attrs;
  attrs.level = sc.level;
  attrs.classNames = run.classNames();
  attrs.periodStarts = run.cube().layout().periods;
  for (const auto& t : run.cube().tiles()) attrs.tiles.push_back(t.name);
  attrs.seed = run.config().run.seed;
  attrs.folds = run.folds();
  attrs.periods = run.cube().periods();
  attrs.bands = run.parcelLevel() ? 2 * run.cube().bands() : run.cube().bands();
  for (const auto& b : run.cube().layout().bands) attrs.bandNames.push_back(run.parcelLevel() ? b + "_mean" : b);
  if (run.parcelLevel())
    for (const auto& b : run.cube().layout().bands) attrs.bandNames.push_back(b + "_median");
  attrs.bandMean = std::move(mean);
  attrs.bandStd = std::move(sd);
  std::vector<std::int64_t> trainCounts(static_cast<size_t>(K), 0);
  for (auto c : rows[0].second.y) trainCounts[static_cast<size_t>(c)] += 1;
  comm.sumInPlace(trainCounts, "sample: training rows per class");
  attrs.trainCounts = trainCounts;
  attrs.classWeights = kernels::maxOverCountWeights(trainCounts);
  attrs.inverseFrequency = kernels::inverseFrequencyWeights(trainCounts);
  std::ostringstream f;
  f << "train: t_c = min(n_c, max(m, floor(N * w_c / sum w))), w_c = q * (pi_c / q)^gamma if pi_c > q else pi_c, "
       "q = P"
    << sc.percentile << " of the priors; N = " << sc.train_size << ", m = " << sc.min_per_class
    << ", gamma = " << sc.damping << "; val/test: gamma = 1, m = 0, N = " << sc.eval_size
    << " (0: all); units with the smallest hash(seed, tile, pixel | parcel) per class";
  attrs.sampling = f.str();
  return attrs;
}

void logCounts(SampleRun& run, std::int64_t missing, const std::string& path) {
  const int K = run.classes();
  for (int s = 1; s < kSplits; ++s) {
    std::string perClass;
    std::int64_t tot = 0;
    for (int c = 0; c < K; ++c) {
      const size_t i = run.cell(s, c);
      tot += run.target[i];
      if (run.avail[i] > 0)
        perClass += (perClass.empty() ? "" : ", ") + run.classNames()[c] + " " + std::to_string(run.target[i]) + "/" +
                    std::to_string(run.avail[i]);
    }
    if (s == kPool && !run.folds()) continue;
    log::info("sample: ", rowSetName(s), ": ", tot, " rows (", perClass.empty() ? "none" : perClass, ")");
  }
  if (missing > 0) log::warn("sample: ", missing, " values without data in the cube are stored as NaN");
  log::info("sample: wrote ", path);
}

}  // namespace

int runSample(CommandContext& ctx) {
  const Comm comm(ctx.comm());
  SampleRun run(ctx.config, comm);
  ClassCounts counts(run);
  runBlockStage(counts, comm);
  select(run, comm);

  SplitRows rows;
  for (int s = 1; s < kSplits; ++s) rows.push_back({rowSetName(s), SampleSplit{}});
  std::vector<double> mean, sd;
  std::int64_t missing = 0;
  if (run.parcelLevel()) {
    ParcelRows pass(run, rows);
    runBlockStage(pass, comm);
    pass.bandStatistics(mean, sd);
    missing = pass.missing;
  } else {
    PixelRows pass(run, rows);
    runBlockStage(pass, comm);
    pass.bandStatistics(mean, sd);
    missing = pass.missing;
  }
  if (!run.folds()) rows.pop_back();  // no /cv without folds
  const SampleFileInfo attrs = attributes(run, rows, comm, std::move(mean), std::move(sd));
  const std::int64_t missingAll = comm.sum(missing, "sample: values without data");
  run.cube().close();
  const std::string path = (std::filesystem::path(ctx.config.run.output) / ctx.config.sample.output).string();
  writeSamples(path, comm, attrs, rows);
  if (comm.root()) logCounts(run, missingAll, path);
  return 0;
}

Command sampleCommand() {
  Command c;
  c.name = "sample";
  c.summary = "stratified pixel- or parcel-level samples per split into samples.h5 (parallel)";
  c.description =
      "Draws sample.train_size training rows by stratified sampling with class priors (a guaranteed\n"
      "sample.min_per_class, imbalance damping sample.damping, frequent/rare at sample.percentile) and\n"
      "validation/test rows in proportion to the classes, reads them from the cube, and writes\n"
      "<run.output>/samples.h5 with class weights and the train split's band mean and std.";
  c.run = runSample;
  return c;
}

}  // namespace cropmap
