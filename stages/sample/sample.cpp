#include "sample.hpp"

#include <algorithm>
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
#include "pipeline/progress.hpp"
#include "samples_writer.hpp"
#include "stages/labels/exchange.hpp"
#include "stages/labels/labels.hpp"

namespace cropmap {

namespace {

constexpr int kSplits = 4;  // index = SplitCode; 0 unused
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

std::vector<Candidate> allgatherCandidates(const std::vector<Candidate>& mine, MPI_Comm comm) {
  int size = 1;
  CROPMAP_MPI(MPI_Comm_size(comm, &size));
  std::vector<std::vector<Candidate>> out(static_cast<size_t>(size), mine);
  return exchangeRecords(out, comm);
}

// The units of one rank: a contiguous run of the canonical unit list, so that
// concatenating ranks' rows in rank order gives the canonical row order.
std::pair<size_t, size_t> contiguousRange(size_t n, int rank, int size) {
  const size_t b = n * static_cast<size_t>(rank) / static_cast<size_t>(size),
               e = n * static_cast<size_t>(rank + 1) / static_cast<size_t>(size);
  return {b, e};
}

struct PixelData {  // one pixel of a selected parcel, on its way to the owner
  std::int64_t parcel;
  std::int64_t key;
  std::int32_t zone;
  std::int32_t split;
};

}  // namespace

int runSample(CommandContext& ctx) {
  const Config& cfg = ctx.config;
  const SampleSection& sc = cfg.sample;
  const int rank = ctx.rank(), size = ctx.size();
  const bool parcelLevel = sc.level == "parcel";
  const std::string cubePath = (std::filesystem::path(cfg.run.output) / "cube.h5").string();
  if (!std::filesystem::exists(cubePath))
    throw UsageError(cubePath + ": no cube; run composite, labels and split first");
  Cube cube = Cube::open(cubePath, ctx.comm(), false);
  if (!cube.hasLayer("split") || !cube.hasLayer("zone"))
    throw UsageError(cubePath + ": no split layer; run `cropmap split` first");
  const auto classNames = cube.root().openGroup("legend").attrStrings("class_names");
  const int K = static_cast<int>(classNames.size());
  std::vector<std::int64_t> zoneFold;
  {
    h5::Group zg = cube.root().openGroup("zones");
    auto fd = zg.openDataset("fold");
    const auto n = fd.dims().at(0);
    std::vector<std::int32_t> f(n);
    if (n) fd.read<std::int32_t>({0}, {n}, f.data());
    zoneFold.assign(f.begin(), f.end());
  }
  const auto& tiles = cube.tiles();
  const int P = cube.periods(), B = cube.bands();
  const int chunk = cube.layout().chunk;
  const double scale = cube.layout().scaleFactor;
  const auto& offsets = cube.layout().bandOffsets;
  const std::uint16_t fill = cube.layout().fillValue;
  const auto seed = static_cast<std::uint64_t>(cfg.run.seed);
  const int block = blockEdge(cube, cfg.composite.block_size);
  const auto units = blockUnits(cube, block);
  const auto [ub, ue] = contiguousRange(units.size(), rank, size);
  log::info("sample: ", sc.level, " level from ", cubePath, ", ", units.size(), " blocks, ", size, " ranks");

  struct Layers {
    std::vector<std::int16_t> label;
    std::vector<std::uint8_t> split;
    std::vector<std::int32_t> zone;
    std::vector<std::int64_t> parcel;
  };
  auto readLayers = [&](const LedgerUnit& u, bool all) {
    Layers l;
    const auto& name = tiles[static_cast<size_t>(u.tile)].name;
    const size_t n = static_cast<size_t>(u.window.pixels());
    l.label.resize(n);
    l.split.resize(n);
    cube.readLayer<std::int16_t>(name, "label", u.window, l.label.data());
    cube.readLayer<std::uint8_t>(name, "split", u.window, l.split.data());
    if (all || parcelLevel) {
      l.parcel.resize(n);
      cube.readLayer<std::int64_t>(name, "parcel", u.window, l.parcel.data());
    }
    if (all) {
      l.zone.resize(n);
      cube.readLayer<std::int32_t>(name, "zone", u.window, l.zone.data());
    }
    return l;
  };
  auto usable = [&](const Layers& l, size_t i) { return l.split[i] != 0 && l.label[i] >= 0 && l.label[i] < K; };
  // Calls visit(p, row, col, value) for each pixel of the unit that want(p, row,
  // col) selects, where p indexes the unit's layers, (row, col) is the tile pixel
  // and value(t, b) its stored reflectance. Chunk by chunk, reading only chunks
  // that hold a selected pixel: memory bounded by the chunk, not the block.
  std::vector<std::uint16_t> refl;
  auto forEachSelected = [&](const LedgerUnit& unit, auto&& want, auto&& visit) {
    const Window& w = unit.window;
    const auto& tname = tiles[static_cast<size_t>(unit.tile)].name;
    std::vector<std::pair<int, int>> pick;  // (local row, local col) in the chunk
    for (int cr = 0; cr < w.rows; cr += chunk)
      for (int cc = 0; cc < w.cols; cc += chunk) {
        const int rows_ = std::min(chunk, w.rows - cr), cols_ = std::min(chunk, w.cols - cc);
        pick.clear();
        for (int y = 0; y < rows_; ++y)
          for (int x = 0; x < cols_; ++x)
            if (want(static_cast<size_t>(cr + y) * w.cols + (cc + x), w.row0 + cr + y, w.col0 + cc + x))
              pick.push_back({y, x});
        if (pick.empty()) continue;
        refl.resize(static_cast<size_t>(P) * B * rows_ * cols_);
        cube.readReflectance(tname, Window{w.row0 + cr, w.col0 + cc, rows_, cols_}, refl.data());
        for (const auto& [y, x] : pick) {
          auto value = [&, y = y, x = x](int t, int b) {
            return refl[((static_cast<size_t>(t) * B + b) * rows_ + y) * cols_ + x];
          };
          visit(static_cast<size_t>(cr + y) * w.cols + (cc + x), w.row0 + cr + y, w.col0 + cc + x, value);
        }
      }
  };

  // ---- 1. what is available per (split, class) -----------------------------
  std::vector<std::int64_t> avail(static_cast<size_t>(kSplits * K), 0);
  std::map<std::int64_t, std::pair<int, int>> ownedParcels;  // parcel -> (split, class), on the owner rank
  {
    std::vector<std::int64_t> local(avail.size(), 0);
    std::vector<std::vector<std::array<std::int64_t, 3>>> out(static_cast<size_t>(size));
    for (size_t i = ub; i < ue; ++i) {
      const Layers l = readLayers(units[i], false);
      std::map<std::int64_t, std::pair<int, int>> seen;
      for (size_t p = 0; p < l.label.size(); ++p) {
        if (!usable(l, p)) continue;
        if (parcelLevel) seen[l.parcel[p]] = {l.split[p], l.label[p]};
        else local[static_cast<size_t>(l.split[p] * K + l.label[p])] += 1;
      }
      for (const auto& [p, sc2] : seen)
        out[static_cast<size_t>(ownerOf(static_cast<std::uint64_t>(p), size))].push_back({p, sc2.first, sc2.second});
    }
    if (parcelLevel) {
      for (const auto& r : exchangeRecords(out, ctx.comm())) ownedParcels[r[0]] = {static_cast<int>(r[1]), static_cast<int>(r[2])};
      for (const auto& [p, sc2] : ownedParcels) local[static_cast<size_t>(sc2.first * K + sc2.second)] += 1;
    }
    CROPMAP_MPI(MPI_Allreduce(local.data(), avail.data(), static_cast<int>(local.size()), MPI_INT64_T, MPI_SUM, ctx.comm()));
  }

  // ---- 2. targets per (split, class) ---------------------------------------
  std::vector<std::int64_t> target(avail.size(), 0);
  for (int s = 1; s < kSplits; ++s) {
    std::vector<std::int64_t> n(avail.begin() + s * K, avail.begin() + (s + 1) * K);
    const bool train = s == kernels::kSplitTrain;
    const auto plan = train ? kernels::stratifiedCounts(n, sc.train_size, sc.min_per_class, sc.damping, sc.percentile)
                            : kernels::stratifiedCounts(n, sc.eval_size, 0, 1.0, sc.percentile);
    std::copy(plan.target.begin(), plan.target.end(), target.begin() + s * K);
    if (train && rank == 0) {
      std::string rare;
      for (int c = 0; c < K; ++c)
        if (plan.rare[c] && n[c] > 0) rare += (rare.empty() ? "" : ", ") + classNames[c];
      log::info("sample: train priors split at the ", sc.percentile, "th percentile (", plan.threshold,
                "); rare classes: ", rare.empty() ? "none" : rare);
    }
  }

  // ---- 3. exact selection: the t smallest hashes per (split, class) --------
  // Thresholds a little above t/n keep the candidate exchange near t per class;
  // a class short of candidates is retried with every unit.
  std::vector<Candidate> cutoff(avail.size(), Candidate{std::numeric_limits<std::uint64_t>::max(),
                                                         std::numeric_limits<std::int64_t>::max(), 0, 0});
  std::vector<std::uint8_t> takeAll(avail.size(), 1);
  std::vector<std::vector<Candidate>> selectedParcels(kSplits);  // parcel level: every rank knows them
  {
    std::vector<double> theta(avail.size(), 1.0);
    std::vector<std::uint8_t> pending(avail.size(), 0);
    for (size_t i = 0; i < avail.size(); ++i) {
      if (target[i] < avail[i]) {
        takeAll[i] = 0;
        const double t = static_cast<double>(target[i]);
        theta[i] = std::min(1.0, (t + 4 * std::sqrt(t) + 16) / static_cast<double>(avail[i]));
      }
      pending[i] = !takeAll[i] || parcelLevel;
    }
    for (int attempt = 0; attempt < 2; ++attempt) {
      auto below = [&](size_t i, std::uint64_t h) {
        return theta[i] >= 1.0 || static_cast<double>(h) < theta[i] * 18446744073709551616.0;
      };
      std::vector<Candidate> mine;
      if (parcelLevel) {
        for (const auto& [p, sc2] : ownedParcels) {
          const size_t i = static_cast<size_t>(sc2.first * K + sc2.second);
          const auto h = kernels::mixHash(seed, kParcelSalt, static_cast<std::uint64_t>(p));
          if (pending[i] && below(i, h)) mine.push_back({h, p, sc2.first, sc2.second});
        }
      } else {
        for (size_t u = ub; u < ue; ++u) {
          const Layers l = readLayers(units[u], false);
          const Window& w = units[u].window;
          for (size_t p = 0; p < l.label.size(); ++p) {
            if (!usable(l, p)) continue;
            const size_t i = static_cast<size_t>(l.split[p] * K + l.label[p]);
            if (!pending[i]) continue;
            const int row = w.row0 + static_cast<int>(p) / w.cols, col = w.col0 + static_cast<int>(p) % w.cols;
            const auto h = kernels::mixHash(seed, static_cast<std::uint64_t>(units[u].tile), static_cast<std::uint64_t>(row),
                                            static_cast<std::uint64_t>(col));
            if (below(i, h)) mine.push_back({h, pixelKey(units[u].tile, row, col), l.split[p], l.label[p]});
          }
        }
      }
      auto all = allgatherCandidates(mine, ctx.comm());
      std::sort(all.begin(), all.end());
      std::vector<std::int64_t> got(avail.size(), 0);
      bool retry = false;
      for (const auto& c : all) {
        const size_t i = static_cast<size_t>(c.split * K + c.cls);
        if (!pending[i]) continue;
        if (got[i] < target[i]) {
          ++got[i];
          if (got[i] == target[i]) cutoff[i] = c;
          if (parcelLevel) selectedParcels[static_cast<size_t>(c.split)].push_back(c);
        }
      }
      for (size_t i = 0; i < avail.size(); ++i) {
        if (!pending[i]) continue;
        if (got[i] < target[i]) {
          // Only possible below the full threshold: take every unit next time.
          theta[i] = 1.0;
          retry = true;
          if (parcelLevel)
            for (auto& list : selectedParcels)
              list.erase(std::remove_if(list.begin(), list.end(),
                                        [&](const Candidate& c) { return static_cast<size_t>(c.split * K + c.cls) == i; }),
                         list.end());
        } else {
          pending[i] = 0;
        }
      }
      if (!retry) break;
    }
  }
  auto selected = [&](size_t i, std::uint64_t h, std::int64_t key) {
    return takeAll[i] || !(cutoff[i] < Candidate{h, key, 0, 0});
  };

  // ---- 4. rows ---------------------------------------------------------------
  const int Bx = parcelLevel ? 2 * B : B;
  std::vector<std::pair<std::string, SampleRowsOut>> out;
  for (int s = 1; s < kSplits; ++s) out.push_back({kernels::splitName(s), SampleRowsOut{}});
  auto& rows = out;  // index s - 1
  std::vector<double> bandSum(static_cast<size_t>(Bx), 0.0), bandSq(static_cast<size_t>(Bx), 0.0);
  std::vector<std::int64_t> bandN(static_cast<size_t>(Bx), 0);
  std::int64_t missing = 0;
  Progress progress("sample", static_cast<std::int64_t>(ue - ub), "blocks", rank == 0);

  if (!parcelLevel) {
    // Exact integer sums of the stored values make the band statistics
    // independent of the order in which ranks add them.
    std::vector<std::int64_t> isum(static_cast<size_t>(B), 0), icnt(static_cast<size_t>(B), 0);
    std::vector<double> isq(static_cast<size_t>(B), 0.0);  // < 2^53 for any realistic sample: exact
    for (size_t u = ub; u < ue; ++u) {
      const Layers l = readLayers(units[u], true);
      const int tile = units[u].tile;
      auto want = [&](size_t p, int row, int col) {
        if (!usable(l, p)) return false;
        const auto h = kernels::mixHash(seed, static_cast<std::uint64_t>(tile), static_cast<std::uint64_t>(row),
                                        static_cast<std::uint64_t>(col));
        return selected(static_cast<size_t>(l.split[p] * K + l.label[p]), h, pixelKey(tile, row, col));
      };
      forEachSelected(units[u], want, [&](size_t p, int row, int col, auto&& value) {
        auto& r = rows[static_cast<size_t>(l.split[p] - 1)].second;
        const bool train = l.split[p] == kernels::kSplitTrain;
        for (int t = 0; t < P; ++t)
          for (int b = 0; b < B; ++b) {
            const std::uint16_t v = value(t, b);
            if (v == fill) {
              r.x.push_back(std::numeric_limits<float>::quiet_NaN());
              ++missing;
              continue;
            }
            r.x.push_back(static_cast<float>(v * scale + offsets[static_cast<size_t>(b)]));
            if (train) {
              isum[static_cast<size_t>(b)] += v;
              isq[static_cast<size_t>(b)] += static_cast<double>(v) * v;
              icnt[static_cast<size_t>(b)] += 1;
            }
          }
        r.y.push_back(l.label[p]);
        r.parcel.push_back(l.parcel[p]);
        r.tile.push_back(tile);
        r.row.push_back(row);
        r.col.push_back(col);
        r.zone.push_back(l.zone[p]);
        r.fold.push_back(l.zone[p] >= 0 && static_cast<size_t>(l.zone[p]) < zoneFold.size()
                             ? static_cast<std::int32_t>(zoneFold[static_cast<size_t>(l.zone[p])])
                             : -1);
      });
      progress.add();
    }
    // Row order: units ascending, then chunk by chunk; re-sort each unit's rows
    // into row-major order is unnecessary because every rank count sees the
    // same units and chunks, but the unit runs differ: offsets by prefix sum.
    std::vector<std::int64_t> gs(static_cast<size_t>(B)), gc(static_cast<size_t>(B));
    std::vector<double> gq(static_cast<size_t>(B));
    CROPMAP_MPI(MPI_Allreduce(isum.data(), gs.data(), B, MPI_INT64_T, MPI_SUM, ctx.comm()));
    CROPMAP_MPI(MPI_Allreduce(icnt.data(), gc.data(), B, MPI_INT64_T, MPI_SUM, ctx.comm()));
    CROPMAP_MPI(MPI_Allreduce(isq.data(), gq.data(), B, MPI_DOUBLE, MPI_SUM, ctx.comm()));
    for (int b = 0; b < B; ++b) {
      bandN[static_cast<size_t>(b)] = gc[static_cast<size_t>(b)];
      bandSum[static_cast<size_t>(b)] = static_cast<double>(gs[static_cast<size_t>(b)]);
      bandSq[static_cast<size_t>(b)] = gq[static_cast<size_t>(b)];
    }
    for (auto& [name, r] : rows) {
      r.n = static_cast<std::int64_t>(r.y.size());
      CROPMAP_MPI(MPI_Exscan(&r.n, &r.offset, 1, MPI_INT64_T, MPI_SUM, ctx.comm()));
      if (rank == 0) r.offset = 0;
      CROPMAP_MPI(MPI_Allreduce(&r.n, &r.total, 1, MPI_INT64_T, MPI_SUM, ctx.comm()));
    }
  } else {
    // Parcel rows in parcel-id order; row chunks of kRowBlock are owned by
    // contiguous runs of ranks, so offsets are positions in the sorted list.
    std::vector<std::unordered_map<std::int64_t, std::int64_t>> position(kSplits);
    std::vector<std::int64_t> chunksOf(kSplits, 0);
    for (int s = 1; s < kSplits; ++s) {
      auto& list = selectedParcels[static_cast<size_t>(s)];
      std::sort(list.begin(), list.end(), [](const Candidate& a, const Candidate& b) { return a.key < b.key; });
      for (size_t i = 0; i < list.size(); ++i) position[static_cast<size_t>(s)][list[i].key] = static_cast<std::int64_t>(i);
      chunksOf[static_cast<size_t>(s)] = (static_cast<std::int64_t>(list.size()) + kRowBlock - 1) / kRowBlock;
    }
    auto ownerOfRow = [&](int s, std::int64_t pos) {
      const std::int64_t nc = chunksOf[static_cast<size_t>(s)], c = pos / kRowBlock;
      return static_cast<int>(c * size / std::max<std::int64_t>(nc, 1));
    };
    // Pixel values travel with a small header; one record is header + P*B uint16.
    const size_t valuesPer = static_cast<size_t>(P) * B;
    std::vector<std::vector<PixelData>> headers(static_cast<size_t>(size));
    std::vector<std::vector<std::uint16_t>> values(static_cast<size_t>(size));
    for (size_t u = ub; u < ue; ++u) {
      const Layers l = readLayers(units[u], true);
      auto want = [&](size_t p, int, int) { return usable(l, p) && position[l.split[p]].count(l.parcel[p]) > 0; };
      forEachSelected(units[u], want, [&](size_t p, int row, int col, auto&& value) {
        const int s = l.split[p];
        const int dest = ownerOfRow(s, position[static_cast<size_t>(s)].at(l.parcel[p]));
        headers[static_cast<size_t>(dest)].push_back({l.parcel[p], pixelKey(units[u].tile, row, col), l.zone[p], s});
        for (int t = 0; t < P; ++t)
          for (int b = 0; b < B; ++b) values[static_cast<size_t>(dest)].push_back(value(t, b));
      });
      progress.add();
    }
    const auto hin = exchangeRecords(headers, ctx.comm());
    const auto vin = exchangeRecords(values, ctx.comm());
    // Group the pixels of each parcel, in key order, so sums do not depend on arrival order.
    std::vector<size_t> order(hin.size());
    for (size_t i = 0; i < order.size(); ++i) order[i] = i;
    std::sort(order.begin(), order.end(), [&](size_t a, size_t b) {
      return hin[a].parcel != hin[b].parcel ? hin[a].parcel < hin[b].parcel : hin[a].key < hin[b].key;
    });
    // My rows: per split, the chunks I own.
    std::vector<std::vector<double>> chunkSum(kSplits), chunkSq(kSplits);
    std::vector<std::vector<std::int64_t>> chunkN(kSplits);
    for (int s = 1; s < kSplits; ++s) {
      auto& r = rows[static_cast<size_t>(s - 1)].second;
      const auto& list = selectedParcels[static_cast<size_t>(s)];
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
      chunkSum[s].assign(static_cast<size_t>(chunksOf[s]) * Bx, 0.0);
      chunkSq[s].assign(static_cast<size_t>(chunksOf[s]) * Bx, 0.0);
      chunkN[s].assign(static_cast<size_t>(chunksOf[s]) * Bx, 0);
    }
    std::vector<double> vals;
    for (size_t a = 0; a < order.size();) {
      size_t b = a;
      while (b < order.size() && hin[order[b]].parcel == hin[order[a]].parcel) ++b;
      const PixelData& h0 = hin[order[a]];
      const int s = h0.split;
      auto& r = rows[static_cast<size_t>(s - 1)].second;
      const std::int64_t i = position[static_cast<size_t>(s)].at(h0.parcel) - r.offset;
      r.tile[static_cast<size_t>(i)] = static_cast<std::int32_t>(h0.key >> 42);
      r.row[static_cast<size_t>(i)] = static_cast<std::int32_t>((h0.key >> 21) & 0x1fffff);
      r.col[static_cast<size_t>(i)] = static_cast<std::int32_t>(h0.key & 0x1fffff);
      r.zone[static_cast<size_t>(i)] = h0.zone;
      r.fold[static_cast<size_t>(i)] =
          h0.zone >= 0 && static_cast<size_t>(h0.zone) < zoneFold.size() ? static_cast<std::int32_t>(zoneFold[h0.zone]) : -1;
      for (int t = 0; t < P; ++t)
        for (int band = 0; band < B; ++band) {
          vals.clear();
          double sum = 0;
          for (size_t k = a; k < b; ++k) {
            const std::uint16_t v = vin[order[k] * valuesPer + static_cast<size_t>(t) * B + band];
            if (v == fill) continue;
            const double x = v * scale + offsets[static_cast<size_t>(band)];
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
            chunkSum[s][ch * Bx + band] += v;
            chunkSq[s][ch * Bx + band] += static_cast<double>(v) * v;
            chunkN[s][ch * Bx + band] += 1;
          }
      }
      a = b;
    }
    // Each row chunk is summed by one rank only: reducing adds exact zeros, and
    // summing chunks in order gives the same bits at any rank count.
    const int s = kernels::kSplitTrain;
    std::vector<double> gS(chunkSum[s].size()), gQ(chunkSq[s].size());
    std::vector<std::int64_t> gN(chunkN[s].size());
    CROPMAP_MPI(MPI_Allreduce(chunkSum[s].data(), gS.data(), static_cast<int>(gS.size()), MPI_DOUBLE, MPI_SUM, ctx.comm()));
    CROPMAP_MPI(MPI_Allreduce(chunkSq[s].data(), gQ.data(), static_cast<int>(gQ.size()), MPI_DOUBLE, MPI_SUM, ctx.comm()));
    CROPMAP_MPI(MPI_Allreduce(chunkN[s].data(), gN.data(), static_cast<int>(gN.size()), MPI_INT64_T, MPI_SUM, ctx.comm()));
    for (std::int64_t c = 0; c < chunksOf[s]; ++c)
      for (int band = 0; band < Bx; ++band) {
        bandSum[static_cast<size_t>(band)] += gS[static_cast<size_t>(c) * Bx + band];
        bandSq[static_cast<size_t>(band)] += gQ[static_cast<size_t>(c) * Bx + band];
        bandN[static_cast<size_t>(band)] += gN[static_cast<size_t>(c) * Bx + band];
      }
  }
  progress.finish();

  // ---- 5. attributes and the file ------------------------------------------
  SampleFileAttrs attrs;
  attrs.level = sc.level;
  attrs.classNames = classNames;
  attrs.periods = cube.layout().periods;
  for (const auto& t : tiles) attrs.tiles.push_back(t.name);
  attrs.seed = cfg.run.seed;
  attrs.periodsCount = P;
  attrs.bandsCount = Bx;
  for (const auto& b : cube.layout().bands) attrs.bandNames.push_back(parcelLevel ? b + "_mean" : b);
  if (parcelLevel)
    for (const auto& b : cube.layout().bands) attrs.bandNames.push_back(b + "_median");
  for (int b = 0; b < Bx; ++b) {
    const double n = static_cast<double>(std::max<std::int64_t>(bandN[static_cast<size_t>(b)], 1));
    double mean = bandSum[static_cast<size_t>(b)] / n, var = bandSq[static_cast<size_t>(b)] / n - mean * mean;
    if (!parcelLevel) {  // integer sums of stored values: scale back
      const double off = offsets[static_cast<size_t>(b)];
      var *= scale * scale;
      mean = mean * scale + off;
    }
    attrs.bandMean.push_back(mean);
    attrs.bandStd.push_back(std::sqrt(std::max(var, 0.0)));
  }
  std::vector<std::int64_t> trainCounts(static_cast<size_t>(K), 0);
  {
    std::vector<std::int64_t> local(static_cast<size_t>(K), 0);
    for (auto c : rows[0].second.y) local[static_cast<size_t>(c)] += 1;
    CROPMAP_MPI(MPI_Allreduce(local.data(), trainCounts.data(), K, MPI_INT64_T, MPI_SUM, ctx.comm()));
  }
  attrs.trainCounts = trainCounts;
  attrs.classWeights = kernels::maxOverCountWeights(trainCounts);
  attrs.inverseFrequency = kernels::inverseFrequencyWeights(trainCounts);
  {
    std::ostringstream f;
    f << "train: t_c = min(n_c, max(m, floor(N * w_c / sum w))), w_c = q * (pi_c / q)^gamma if pi_c > q else pi_c, "
         "q = P"
      << sc.percentile << " of the priors; N = " << sc.train_size << ", m = " << sc.min_per_class
      << ", gamma = " << sc.damping << "; val/test: gamma = 1, m = 0, N = " << sc.eval_size
      << " (0: all); units with the smallest hash(seed, tile, pixel | parcel) per class";
    attrs.sampling = f.str();
  }
  std::int64_t missingAll = 0;
  CROPMAP_MPI(MPI_Reduce(&missing, &missingAll, 1, MPI_INT64_T, MPI_SUM, 0, ctx.comm()));
  cube.close();
  const std::string path = (std::filesystem::path(cfg.run.output) / sc.output).string();
  writeSamplesParallel(path, ctx.comm(), attrs, out);
  if (rank == 0) {
    for (int s = 1; s < kSplits; ++s) {
      std::string perClass;
      std::int64_t tot = 0;
      for (int c = 0; c < K; ++c) {
        tot += target[static_cast<size_t>(s * K + c)];
        if (avail[static_cast<size_t>(s * K + c)] > 0)
          perClass += (perClass.empty() ? "" : ", ") + classNames[c] + " " +
                      std::to_string(target[static_cast<size_t>(s * K + c)]) + "/" +
                      std::to_string(avail[static_cast<size_t>(s * K + c)]);
      }
      log::info("sample: ", kernels::splitName(s), ": ", tot, " rows (", perClass.empty() ? "none" : perClass, ")");
    }
    if (missingAll > 0) log::warn("sample: ", missingAll, " values without data in the cube are stored as NaN");
    log::info("sample: wrote ", path);
  }
  return 0;
}

}  // namespace cropmap
