#include "samples.hpp"

#include <algorithm>
#include <filesystem>
#include <map>
#include <numeric>
#include <stdexcept>

#include "gdal_io.hpp"
#include "h5.hpp"
#include "mpi.hpp"

namespace cropmap {

namespace {

constexpr const char* kFormat = "cropmap-samples";
constexpr std::int64_t kFormatVersion = 1;
const char* const kSplitNames[] = {"train", "val", "test", "cv"};

}  // namespace

// ---------------------------------------------------------------------------
// Writer

void writeSamples(const std::string& path, const Comm& comm, const SampleFileInfo& info,
                  const std::vector<std::pair<std::string, SampleSplit>>& splits) {
  const std::filesystem::path parent = std::filesystem::path(path).parent_path();
  if (comm.root() && !parent.empty()) std::filesystem::create_directories(parent);
  // One temporary name for all ranks: rank 0 picks it.
  const std::string tmp = comm.bcast(comm.root() ? gdal::temporaryName(path) : std::string(), "samples: file name");
  {
    h5::File f = h5::File::create(tmp, comm.raw());
    {  // every object closes before the file does
      h5::Group root = f.root();
      root.setAttr("format", kFormat);
      root.setAttr("format_version", kFormatVersion);
      root.setAttr("level", info.level);
      root.setAttr("class_names", info.classNames);
      root.setAttr("class_weights", info.classWeights);
      root.setAttr("class_weights_inverse_frequency", info.inverseFrequency);
      root.setAttr("class_counts_train", info.trainCounts);
      root.setAttr("band_names", info.bandNames);
      root.setAttr("band_mean", info.bandMean);
      root.setAttr("band_std", info.bandStd);
      root.setAttr("periods", info.periodStarts);
      root.setAttr("tiles", info.tiles);
      root.setAttr("seed", info.seed);
      root.setAttr("folds", static_cast<std::int64_t>(info.folds));
      root.setAttr("sampling", info.sampling);
      const hsize_t P = static_cast<hsize_t>(info.periods), B = static_cast<hsize_t>(info.bands);
      for (const auto& [name, s] : splits) {
        // Which optional columns the split has: any rank that gives one decides.
        std::vector<int> has{!s.xu.empty(), !s.parcel.empty(), !s.tile.empty(), !s.row.empty(),
                             !s.col.empty(), !s.zone.empty(),   !s.fold.empty(), !s.foldBuffer.empty()};
        comm.maxInPlace(has, "samples: columns");
        const bool uint16 = has[0] != 0;
        auto need = [&](size_t got, size_t want, const char* column) {
          if (got != want)
            throw std::runtime_error(path + ": /" + name + "/" + column + ": " + std::to_string(got) +
                                     " values for " + std::to_string(want));
        };
        const size_t n = static_cast<size_t>(s.n);
        need(uint16 ? s.xu.size() : s.x.size(), n * P * B, "x");
        need(s.y.size(), n, "y");
        h5::Group g = root.createGroup(name);
        const hsize_t N = static_cast<hsize_t>(s.total);
        // Chunked along rows so that readers take slices cheaply; an empty split is contiguous and empty.
        const hsize_t rowsPerChunk = std::max<hsize_t>(1, std::min<hsize_t>(N, 4096));
        auto ch = [&](std::vector<hsize_t> c) { return N > 0 ? c : std::vector<hsize_t>{}; };
        h5::Dataset x = uint16 ? g.createDataset<std::uint16_t>("x", {N, P, B}, ch({rowsPerChunk, P, B}), 0)
                               : g.createDataset<float>("x", {N, P, B}, ch({rowsPerChunk, P, B}), 0.0f);
        if (uint16) {
          x.setAttr("scale_factor", s.scaleFactor);
          x.setAttr("add_offset", s.addOffset);
        }
        h5::Dataset y = g.createDataset<std::int16_t>("y", {N}, ch({rowsPerChunk}), -1);
        struct Column {
          const char* name;
          const std::vector<std::int32_t>* values;
          bool present;
        };
        const Column ints[] = {{"tile", &s.tile, has[2] != 0}, {"row", &s.row, has[3] != 0},
                               {"col", &s.col, has[4] != 0},   {"zone", &s.zone, has[5] != 0},
                               {"fold", &s.fold, has[6] != 0}, {"fold_buffer", &s.foldBuffer, has[7] != 0}};
        h5::Dataset parcel;
        if (has[1]) parcel = g.createDataset<std::int64_t>("parcel", {N}, ch({rowsPerChunk}), 0);
        std::vector<h5::Dataset> intSets;
        for (const auto& c : ints)
          intSets.push_back(c.present ? g.createDataset<std::int32_t>(c.name, {N}, ch({rowsPerChunk}), -1)
                                      : h5::Dataset());
        f.flush();
        // An empty split (e.g. no validation zones) has nothing to write; HDF5 has no
        // storage for a zero-sized contiguous dataset, so even an empty write fails.
        if (N == 0) continue;
        const hsize_t o = static_cast<hsize_t>(s.offset), cnt = static_cast<hsize_t>(s.n);
        const auto C = h5::Transfer::collective;
        if (uint16) x.write<std::uint16_t>({o, 0, 0}, {cnt, P, B}, s.xu.data(), C);
        else x.write<float>({o, 0, 0}, {cnt, P, B}, s.x.data(), C);
        y.write<std::int16_t>({o}, {cnt}, s.y.data(), C);
        if (has[1]) {
          need(s.parcel.size(), n, "parcel");
          parcel.write<std::int64_t>({o}, {cnt}, s.parcel.data(), C);
        }
        for (size_t i = 0; i < std::size(ints); ++i) {
          if (!ints[i].present) continue;
          need(ints[i].values->size(), n, ints[i].name);
          intSets[i].write<std::int32_t>({o}, {cnt}, ints[i].values->data(), C);
        }
      }
    }
    f.flush();
    f.close();
  }
  comm.barrier("samples: written");
  if (comm.root()) gdal::commitFile(tmp, path);
  comm.barrier("samples: renamed");
}

// ---------------------------------------------------------------------------
// Reader

namespace {

struct SplitMeta {
  std::int64_t n = 0;
  bool uint16 = false;
  double scale = 1.0, offset = 0.0;
  bool hasParcel = false, hasFold = false;
};

}  // namespace

struct SampleReader::Impl {
  SampleFileInfo info;
  h5::File file;
  std::map<std::string, SplitMeta> splits;

  [[noreturn]] void fail(const std::string& key, const std::string& msg) const {
    throw UsageError(info.path + ": " + key + ": " + msg);
  }

  std::vector<std::string> strings(const h5::Object& o, const std::string& key, const std::string& where) const {
    if (!o.hasAttr(key)) fail(where + key, "attribute missing");
    return o.attrStrings(key);
  }
  std::vector<double> doubles(const h5::Object& o, const std::string& key, const std::string& where) const {
    if (!o.hasAttr(key)) fail(where + key, "attribute missing");
    return o.attrDoubles(key);
  }

  void open(const std::string& path, MPI_Comm comm) {
    h5::quietErrors();
    info.path = path;
    if (!std::filesystem::exists(path))
      throw UsageError(path + ": sample file not found; run `cropmap sample` first or set train.samples");
    if (!h5::File::isHdf5(path)) throw UsageError(path + ": not an HDF5 file (expected a cropmap sample table)");
    file = h5::File::open(path, comm, false);
    const h5::Group root = file.root();
    const std::string fmt = root.hasAttr("format") ? root.attrString("format") : std::string();
    if (fmt != kFormat) fail("/format", "expected '" + std::string(kFormat) + "', got '" + fmt + "'; not a sample table");
    info.classNames = strings(root, "class_names", "/");
    info.classWeights = doubles(root, "class_weights", "/");
    info.bandNames = strings(root, "band_names", "/");
    info.bandMean = doubles(root, "band_mean", "/");
    info.bandStd = doubles(root, "band_std", "/");
    info.periodStarts = strings(root, "periods", "/");
    if (root.hasAttr("tiles")) info.tiles = root.attrStrings("tiles");
    if (root.hasAttr("level")) info.level = root.attrString("level");
    if (root.hasAttr("class_weights_inverse_frequency"))
      info.inverseFrequency = root.attrDoubles("class_weights_inverse_frequency");
    if (root.hasAttr("class_counts_train")) info.trainCounts = root.attrInts("class_counts_train");
    if (root.hasAttr("seed")) info.seed = root.attrInt("seed");
    if (root.hasAttr("folds")) info.folds = static_cast<int>(root.attrInt("folds"));
    if (root.hasAttr("sampling")) info.sampling = root.attrString("sampling");
    if (info.classNames.empty()) fail("/class_names", "no classes");
    if (info.classWeights.size() != info.classNames.size())
      fail("/class_weights", "has " + std::to_string(info.classWeights.size()) + " values for " +
                                 std::to_string(info.classNames.size()) + " classes");
    for (const char* split : kSplitNames)
      if (root.exists(split)) openSplit(root.openGroup(split), split);
    if (splits.empty()) fail("/", "no train, val, test or cv group");
    const auto count = [](size_t n, const char* what) { return "has " + std::to_string(n) + " " + what + " for "; };
    if (info.bandMean.size() != static_cast<size_t>(info.bands))
      fail("/band_mean", count(info.bandMean.size(), "values") + std::to_string(info.bands) + " bands");
    if (info.bandStd.size() != static_cast<size_t>(info.bands))
      fail("/band_std", count(info.bandStd.size(), "values") + std::to_string(info.bands) + " bands");
    for (double s : info.bandStd)
      if (!(s > 0)) fail("/band_std", "standard deviations must be positive");
    if (info.bandNames.size() != static_cast<size_t>(info.bands))
      fail("/band_names", count(info.bandNames.size(), "names") + std::to_string(info.bands) + " bands");
    if (info.periodStarts.size() != static_cast<size_t>(info.periods))
      fail("/periods", count(info.periodStarts.size(), "dates") + std::to_string(info.periods) + " periods");
  }

  void openSplit(const h5::Group& grp, const std::string& split) {
    const std::string g = "/" + split;
    if (!grp.exists("x")) fail(g + "/x", "dataset missing");
    if (!grp.exists("y")) fail(g + "/y", "dataset missing");
    const h5::Dataset x = grp.openDataset("x");
    const auto xd = x.dims(), yd = grp.openDataset("y").dims();
    if (xd.size() != 3) fail(g + "/x", "expected 3 dimensions [N, periods, bands], got " + std::to_string(xd.size()));
    if (yd.size() != 1 || yd[0] != xd[0]) fail(g + "/y", "expected [" + std::to_string(xd[0]) + "] (one label per row of x)");
    if (info.periods == 0) {
      info.periods = static_cast<int>(xd[1]);
      info.bands = static_cast<int>(xd[2]);
    } else if (xd[1] != static_cast<hsize_t>(info.periods) || xd[2] != static_cast<hsize_t>(info.bands)) {
      fail(g + "/x", "has " + std::to_string(xd[1]) + " periods x " + std::to_string(xd[2]) + " bands, other splits have " +
                         std::to_string(info.periods) + " x " + std::to_string(info.bands));
    }
    SplitMeta m;
    m.n = static_cast<std::int64_t>(xd[0]);
    const auto type = x.elementType();
    if (type.cls == H5T_INTEGER) {
      if (type.bytes != 2 || type.isSigned) fail(g + "/x", "integer x must be uint16");
      m.uint16 = true;
      if (!x.hasAttr("scale_factor")) fail(g + "/x/scale_factor", "uint16 x needs a scale_factor attribute");
      m.scale = x.attrDouble("scale_factor");
      if (x.hasAttr("add_offset")) m.offset = x.attrDouble("add_offset");
    } else if (type.cls != H5T_FLOAT) {
      fail(g + "/x", "expected float32 or uint16 values");
    }
    for (const char* opt : {"parcel", "fold"}) {
      if (!grp.exists(opt)) continue;
      const auto dd = grp.openDataset(opt).dims();
      if (dd.size() != 1 || dd[0] != xd[0]) fail(g + "/" + opt, "expected one value per row of x");
      (std::string(opt) == "parcel" ? m.hasParcel : m.hasFold) = true;
    }
    splits[split] = m;
  }

  // Collective read of `sorted` rows (ascending, unique) of one dataset of the split.
  template <class T>
  void readRows(const std::string& split, const char* name, const std::vector<std::int64_t>& sorted, T* out) const {
    // An empty split has no storage to read from (and every rank sees it empty).
    if (splits.at(split).n == 0) return;
    std::vector<std::pair<hsize_t, hsize_t>> runs;  // runs of consecutive rows, one hyperslab block each
    for (size_t i = 0; i < sorted.size();) {
      size_t j = i + 1;
      while (j < sorted.size() && sorted[j] == sorted[j - 1] + 1) ++j;
      runs.emplace_back(static_cast<hsize_t>(sorted[i]), static_cast<hsize_t>(j - i));
      i = j;
    }
    file.root().openGroup(split).openDataset(name).readRows<T>(runs, out, h5::Transfer::collective);
  }
};

SampleReader::SampleReader(const std::string& path, MPI_Comm comm) : impl_(std::make_unique<Impl>()) {
  impl_->open(path, comm);
}
SampleReader::~SampleReader() = default;

const SampleFileInfo& SampleReader::info() const { return impl_->info; }
void SampleReader::setNormalisation(const std::vector<double>& mean, const std::vector<double>& std) {
  if (mean.size() != static_cast<size_t>(impl_->info.bands) || std.size() != mean.size())
    throw std::invalid_argument(impl_->info.path + ": normalisation for " + std::to_string(mean.size()) +
                                " bands, the file has " + std::to_string(impl_->info.bands));
  impl_->info.bandMean = mean;
  impl_->info.bandStd = std;
}
bool SampleReader::hasSplit(const std::string& split) const { return impl_->splits.count(split) > 0; }
std::int64_t SampleReader::rows(const std::string& split) const {
  auto it = impl_->splits.find(split);
  if (it == impl_->splits.end()) impl_->fail("/" + split, "split missing from the sample file");
  return it->second.n;
}

SampleRows SampleReader::read(const std::string& split, const std::vector<std::int64_t>& rows) {
  const std::int64_t n = this->rows(split);
  const SplitMeta& m = impl_->splits.at(split);
  const auto& info = impl_->info;
  // HDF5 returns selected rows in file order: read sorted, then put back in the caller's order.
  std::vector<size_t> order(rows.size());
  std::iota(order.begin(), order.end(), size_t{0});
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return rows[a] < rows[b]; });
  std::vector<std::int64_t> sorted(rows.size());
  for (size_t i = 0; i < order.size(); ++i) {
    sorted[i] = rows[order[i]];
    if (sorted[i] < 0 || sorted[i] >= n)
      throw std::out_of_range(info.path + ": /" + split + ": row " + std::to_string(sorted[i]) + " out of range");
    if (i > 0 && sorted[i] == sorted[i - 1])
      throw std::invalid_argument(info.path + ": /" + split + ": row " + std::to_string(sorted[i]) + " requested twice");
  }
  const size_t cell = static_cast<size_t>(info.periods) * static_cast<size_t>(info.bands);
  const size_t k = rows.size();
  std::vector<float> xs(k * cell);
  if (m.uint16) {
    std::vector<std::uint16_t> raw(k * cell);
    impl_->readRows<std::uint16_t>(split, "x", sorted, raw.data());
    for (size_t i = 0; i < raw.size(); ++i) xs[i] = static_cast<float>(raw[i] * m.scale + m.offset);
  } else {
    impl_->readRows<float>(split, "x", sorted, xs.data());
  }
  std::vector<std::int32_t> ys(k);
  impl_->readRows<std::int32_t>(split, "y", sorted, ys.data());
  std::vector<std::int64_t> ps;
  if (m.hasParcel) {
    ps.resize(k);
    impl_->readRows<std::int64_t>(split, "parcel", sorted, ps.data());
  }
  std::vector<std::int32_t> fs;
  if (m.hasFold) {
    fs.resize(k);
    impl_->readRows<std::int32_t>(split, "fold", sorted, fs.data());
  }

  SampleRows out;
  out.n = static_cast<std::int64_t>(k);
  out.periods = info.periods;
  out.bands = info.bands;
  out.x.resize(k * cell);
  out.y.resize(k);
  if (m.hasParcel) out.parcel.resize(k);
  if (m.hasFold) out.fold.resize(k);
  const int K = info.classes();
  const size_t B = static_cast<size_t>(info.bands);
  std::vector<float> mean(info.bandMean.begin(), info.bandMean.end());
  std::vector<float> inv(B);
  for (size_t b = 0; b < B; ++b) inv[b] = static_cast<float>(1.0 / info.bandStd[b]);
  for (size_t i = 0; i < k; ++i) {
    const size_t dst = order[i];
    if (ys[i] < 0 || ys[i] >= K)
      impl_->fail("/" + split + "/y", "row " + std::to_string(sorted[i]) + " has class " + std::to_string(ys[i]) +
                                          ", outside 0.." + std::to_string(K - 1));
    out.y[dst] = ys[i];
    if (m.hasParcel) out.parcel[dst] = ps[i];
    if (m.hasFold) out.fold[dst] = fs[i];
    const float* src = xs.data() + i * cell;
    float* to = out.x.data() + dst * cell;
    for (size_t c = 0; c < cell; ++c) to[c] = (src[c] - mean[c % B]) * inv[c % B];
  }
  return out;
}

std::vector<std::int32_t> SampleReader::column(const std::string& split, const std::string& name) {
  const std::int64_t n = rows(split);
  if (!impl_->file.root().openGroup(split).exists(name)) return {};
  const auto dd = impl_->file.root().openGroup(split).openDataset(name).dims();
  if (dd.size() != 1 || dd[0] != static_cast<hsize_t>(n)) impl_->fail("/" + split + "/" + name, "expected one value per row");
  std::vector<std::int64_t> all(static_cast<size_t>(n));
  std::iota(all.begin(), all.end(), std::int64_t{0});
  std::vector<std::int32_t> out(static_cast<size_t>(n));
  impl_->readRows<std::int32_t>(split, name.c_str(), all, out.data());
  return out;
}

namespace {

// The fold and fold_buffer columns of a split, checked against the file's folds.
struct FoldColumns {
  std::vector<std::int32_t> fold, buffer;
  // Whether row i belongs to what fold k trains on (heldOut false) or is scored on (true).
  bool uses(size_t i, int k, bool heldOut) const {
    const auto f = fold[i];
    if (heldOut) return f == k;
    return f >= 0 && f != k && !(!buffer.empty() && ((buffer[i] >> k) & 1));
  }
};

FoldColumns foldColumns(SampleReader& reader, const std::string& split) {
  const auto& info = reader.info();
  if (info.folds < 2)
    throw UsageError(info.path + ": drawn without cross-validation folds; set split.folds to 2 or more and rerun "
                                 "`cropmap split` and `cropmap sample`");
  FoldColumns c{reader.column(split, "fold"), reader.column(split, "fold_buffer")};
  if (static_cast<std::int64_t>(c.fold.size()) != reader.rows(split))
    throw UsageError(info.path + ": /" + split + "/fold: missing; rerun `cropmap sample`");
  return c;
}

}  // namespace

std::vector<std::int64_t> foldRows(SampleReader& reader, const std::string& split, int fold, bool heldOut) {
  std::vector<std::int64_t> out;
  if (fold < 0) {
    out.resize(static_cast<size_t>(reader.rows(split)));
    std::iota(out.begin(), out.end(), std::int64_t{0});
    return out;
  }
  const auto columns = foldColumns(reader, split);
  const auto& info = reader.info();
  if (fold >= info.folds)
    throw UsageError("--fold " + std::to_string(fold) + ": " + info.path + " has folds 0.." +
                     std::to_string(info.folds - 1));
  for (size_t i = 0; i < columns.fold.size(); ++i)
    if (columns.uses(i, fold, heldOut)) out.push_back(static_cast<std::int64_t>(i));
  return out;
}

std::vector<std::vector<std::int64_t>> foldClassCounts(SampleReader& reader, const std::string& split) {
  const auto columns = foldColumns(reader, split);
  const auto y = reader.column(split, "y");
  const int folds = reader.info().folds;
  std::vector<std::vector<std::int64_t>> counts(static_cast<size_t>(folds),
                                                std::vector<std::int64_t>(static_cast<size_t>(reader.info().classes()), 0));
  for (size_t i = 0; i < y.size(); ++i)
    for (int k = 0; k < folds; ++k)
      if (columns.uses(i, k, false)) counts[static_cast<size_t>(k)][static_cast<size_t>(y[i])] += 1;
  return counts;
}

std::vector<std::int64_t> classCounts(SampleReader& reader, const std::string& split,
                                      const std::vector<std::int64_t>& rows) {
  const auto y = reader.column(split, "y");
  std::vector<std::int64_t> counts(static_cast<size_t>(reader.info().classes()), 0);
  for (auto i : rows) {
    const auto c = y.at(static_cast<size_t>(i));
    if (c >= 0 && static_cast<size_t>(c) < counts.size()) counts[static_cast<size_t>(c)] += 1;
  }
  return counts;
}

SampleRows SampleReader::readRange(const std::string& split, std::int64_t begin, std::int64_t end) {
  std::vector<std::int64_t> rows(static_cast<size_t>(std::max<std::int64_t>(end - begin, 0)));
  std::iota(rows.begin(), rows.end(), begin);
  return read(split, rows);
}

}  // namespace cropmap
