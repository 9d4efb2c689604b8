#include "samples_io.hpp"

#include <hdf5.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <map>
#include <numeric>
#include <stdexcept>

#include "pipeline/mpi.hpp"

namespace cropmap {

namespace {

constexpr const char* kFormat = "cropmap-samples";
constexpr int kFormatVersion = 1;

// An HDF5 identifier closed by the function that matches its kind.
class Hid {
 public:
  Hid() = default;
  Hid(hid_t id, herr_t (*close)(hid_t)) : id_(id), close_(close) {}
  Hid(Hid&& o) noexcept : id_(o.id_), close_(o.close_) { o.id_ = H5I_INVALID_HID; }
  Hid& operator=(Hid&& o) noexcept {
    reset();
    id_ = o.id_;
    close_ = o.close_;
    o.id_ = H5I_INVALID_HID;
    return *this;
  }
  ~Hid() { reset(); }
  hid_t get() const { return id_; }
  operator hid_t() const { return id_; }

 private:
  void reset() {
    if (id_ >= 0 && close_) close_(id_);
    id_ = H5I_INVALID_HID;
  }
  hid_t id_ = H5I_INVALID_HID;
  herr_t (*close_)(hid_t) = nullptr;
};

// Every HDF5 call goes through these: a failure names the file and object.
hid_t checked(hid_t id, const std::string& what) {
  if (id < 0) throw std::runtime_error("HDF5: " + what + " failed");
  return id;
}
void checked(herr_t rc, const char* /*tag*/, const std::string& what) {
  if (rc < 0) throw std::runtime_error("HDF5: " + what + " failed");
}

struct SilenceHdf5 {
  // The library's own error stack dump is noise next to our messages.
  SilenceHdf5() { H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr); }
};
const SilenceHdf5& silence() {
  static SilenceHdf5 s;
  return s;
}

Hid vlenStringType() {
  Hid t(checked(H5Tcopy(H5T_C_S1), "H5Tcopy"), H5Tclose);
  checked(H5Tset_size(t, H5T_VARIABLE), "", "H5Tset_size");
  checked(H5Tset_cset(t, H5T_CSET_UTF8), "", "H5Tset_cset");
  return t;
}

void writeStringsAttr(hid_t obj, const char* name, const std::vector<std::string>& values) {
  hsize_t n = values.size();
  Hid space(checked(H5Screate_simple(1, &n, nullptr), "H5Screate_simple"), H5Sclose);
  Hid type = vlenStringType();
  Hid attr(checked(H5Acreate2(obj, name, type, space, H5P_DEFAULT, H5P_DEFAULT), std::string("create attr ") + name),
           H5Aclose);
  std::vector<const char*> ptrs;
  for (const auto& v : values) ptrs.push_back(v.c_str());
  const char* none = "";  // HDF5 wants a buffer even for an empty attribute
  checked(H5Awrite(attr, type, ptrs.empty() ? &none : ptrs.data()), "", std::string("write attr ") + name);
}

void writeStringAttr(hid_t obj, const char* name, const std::string& value) {
  Hid space(checked(H5Screate(H5S_SCALAR), "H5Screate"), H5Sclose);
  Hid type = vlenStringType();
  Hid attr(checked(H5Acreate2(obj, name, type, space, H5P_DEFAULT, H5P_DEFAULT), std::string("create attr ") + name),
           H5Aclose);
  const char* p = value.c_str();
  checked(H5Awrite(attr, type, &p), "", std::string("write attr ") + name);
}

template <class T>
void writeNumAttr(hid_t obj, const char* name, hid_t type, const std::vector<T>& values) {
  hsize_t n = values.size();
  Hid space(checked(n == 1 ? H5Screate(H5S_SCALAR) : H5Screate_simple(1, &n, nullptr), "H5Screate"), H5Sclose);
  Hid attr(checked(H5Acreate2(obj, name, type, space, H5P_DEFAULT, H5P_DEFAULT), std::string("create attr ") + name),
           H5Aclose);
  const T none{};
  checked(H5Awrite(attr, type, values.empty() ? &none : values.data()), "", std::string("write attr ") + name);
}

template <class T>
void writeDataset(hid_t group, const char* name, hid_t fileType, hid_t memType, const std::vector<hsize_t>& dims,
                  const T* data) {
  Hid space(checked(H5Screate_simple(static_cast<int>(dims.size()), dims.data(), nullptr), "H5Screate_simple"),
            H5Sclose);
  Hid ds(checked(H5Dcreate2(group, name, fileType, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT),
                 std::string("create dataset ") + name),
         H5Dclose);
  checked(H5Dwrite(ds, memType, H5S_ALL, H5S_ALL, H5P_DEFAULT, data), "", std::string("write dataset ") + name);
}

}  // namespace

// ---------------------------------------------------------------------------
// Writer

void writeSampleFile(const std::string& path, const SampleFileInfo& info,
                     const std::vector<std::pair<std::string, SampleTable>>& splits) {
  silence();
  const std::string tmp = path + ".tmp";
  const auto ctx = [&](const std::string& s) { return path + ": " + s; };
  {
    Hid file(checked(H5Fcreate(tmp.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT), ctx("create " + tmp)),
             H5Fclose);
    writeStringAttr(file, "format", kFormat);
    writeNumAttr(file, "format_version", H5T_NATIVE_INT, std::vector<int>{kFormatVersion});
    writeStringsAttr(file, "class_names", info.classNames);
    writeNumAttr(file, "class_weights", H5T_NATIVE_DOUBLE, info.classWeights);
    writeStringsAttr(file, "band_names", info.bandNames);
    writeNumAttr(file, "band_mean", H5T_NATIVE_DOUBLE, info.bandMean);
    writeNumAttr(file, "band_std", H5T_NATIVE_DOUBLE, info.bandStd);
    writeStringsAttr(file, "periods", info.periodStarts);
    writeStringAttr(file, "level", info.level);
    writeStringsAttr(file, "tiles", info.tiles);
    for (const auto& [name, t] : splits) {
      Hid g(checked(H5Gcreate2(file, name.c_str(), H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT), ctx("create /" + name)),
            H5Gclose);
      const hsize_t n = static_cast<hsize_t>(t.n);
      const std::vector<hsize_t> xdims{n, static_cast<hsize_t>(info.periods), static_cast<hsize_t>(info.bands)};
      const size_t cells = static_cast<size_t>(n) * static_cast<size_t>(info.periods) * static_cast<size_t>(info.bands);
      if (!t.xu.empty()) {
        if (t.xu.size() != cells) throw std::runtime_error(ctx("/" + name + "/x: wrong number of values"));
        writeDataset(g, "x", H5T_STD_U16LE, H5T_NATIVE_UINT16, xdims, t.xu.data());
        Hid x(checked(H5Dopen2(g, "x", H5P_DEFAULT), "open x"), H5Dclose);
        writeNumAttr(x, "scale_factor", H5T_NATIVE_DOUBLE, std::vector<double>{t.scaleFactor});
        writeNumAttr(x, "add_offset", H5T_NATIVE_DOUBLE, std::vector<double>{t.addOffset});
      } else {
        if (t.xf.size() != cells) throw std::runtime_error(ctx("/" + name + "/x: wrong number of values"));
        writeDataset(g, "x", H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, xdims, t.xf.data());
      }
      if (t.y.size() != n) throw std::runtime_error(ctx("/" + name + "/y: expected one label per row"));
      writeDataset(g, "y", H5T_STD_I16LE, H5T_NATIVE_INT32, {n}, t.y.data());
      if (!t.parcel.empty()) writeDataset(g, "parcel", H5T_STD_I64LE, H5T_NATIVE_INT64, {n}, t.parcel.data());
      const std::pair<const char*, const std::vector<std::int32_t>*> ints[] = {
          {"tile", &t.tile}, {"row", &t.row}, {"col", &t.col}, {"zone", &t.zone}, {"fold", &t.fold}};
      for (const auto& [dname, v] : ints)
        if (!v->empty()) {
          if (v->size() != n) throw std::runtime_error(ctx("/" + name + "/" + dname + ": expected one value per row"));
          writeDataset(g, dname, H5T_STD_I32LE, H5T_NATIVE_INT32, {n}, v->data());
        }
    }
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) throw std::runtime_error("cannot rename " + tmp + " to " + path + ": " + ec.message());
}

// ---------------------------------------------------------------------------
// Reader

struct SplitMeta {
  std::int64_t n = 0;
  bool uint16 = false;
  double scale = 1.0, offset = 0.0;
  bool hasParcel = false, hasFold = false;
};

struct SampleReader::Impl {
  SampleFileInfo info;
  MPI_Comm comm = MPI_COMM_NULL;
  Hid file;
  std::map<std::string, SplitMeta> splits;

  [[noreturn]] void fail(const std::string& key, const std::string& msg) const {
    throw UsageError(info.path + ": " + key + ": " + msg);
  }

  bool hasAttr(hid_t obj, const char* name) const { return H5Aexists(obj, name) > 0; }

  std::vector<std::string> readStrings(hid_t obj, const char* name, const std::string& where) const {
    if (!hasAttr(obj, name)) fail(where + name, "attribute missing");
    Hid attr(checked(H5Aopen(obj, name, H5P_DEFAULT), info.path + ": open attr " + name), H5Aclose);
    Hid space(checked(H5Aget_space(attr), "H5Aget_space"), H5Sclose);
    hssize_t n = H5Sget_simple_extent_npoints(space);
    if (n <= 0) return {};
    Hid type = vlenStringType();
    Hid ftype(checked(H5Aget_type(attr), "H5Aget_type"), H5Tclose);
    if (H5Tget_class(ftype) != H5T_STRING || H5Tis_variable_str(ftype) <= 0)
      fail(where + name, "expected variable-length strings");
    std::vector<char*> ptrs(static_cast<size_t>(n), nullptr);
    checked(H5Aread(attr, type, ptrs.data()), "", info.path + ": read attr " + name);
    std::vector<std::string> out;
    for (char* p : ptrs) out.emplace_back(p ? p : "");
    H5Dvlen_reclaim(type, space, H5P_DEFAULT, ptrs.data());
    return out;
  }

  std::vector<double> readDoubles(hid_t obj, const char* name, const std::string& where) const {
    if (!hasAttr(obj, name)) fail(where + name, "attribute missing");
    Hid attr(checked(H5Aopen(obj, name, H5P_DEFAULT), info.path + ": open attr " + name), H5Aclose);
    Hid space(checked(H5Aget_space(attr), "H5Aget_space"), H5Sclose);
    std::vector<double> out(static_cast<size_t>(std::max<hssize_t>(H5Sget_simple_extent_npoints(space), 0)));
    if (out.empty()) return out;
    checked(H5Aread(attr, H5T_NATIVE_DOUBLE, out.data()), "", info.path + ": read attr " + name);
    return out;
  }

  std::vector<hsize_t> dims(hid_t ds) const {
    Hid space(checked(H5Dget_space(ds), "H5Dget_space"), H5Sclose);
    int r = H5Sget_simple_extent_ndims(space);
    std::vector<hsize_t> d(static_cast<size_t>(std::max(r, 0)));
    H5Sget_simple_extent_dims(space, d.data(), nullptr);
    return d;
  }

  void open(const std::string& path, MPI_Comm c) {
    silence();
    info.path = path;
    comm = c;
    if (!std::filesystem::exists(path))
      throw UsageError(path + ": sample file not found; run `cropmap sample` first or set train.samples");
    if (H5Fis_hdf5(path.c_str()) <= 0) throw UsageError(path + ": not an HDF5 file (expected a cropmap sample table)");
    Hid fapl(checked(H5Pcreate(H5P_FILE_ACCESS), "H5Pcreate"), H5Pclose);
    checked(H5Pset_fapl_mpio(fapl, comm, MPI_INFO_NULL), "", "H5Pset_fapl_mpio");
    file = Hid(checked(H5Fopen(path.c_str(), H5F_ACC_RDONLY, fapl), path + ": open"), H5Fclose);

    auto fmt = hasAttr(file, "format") ? readStringScalar("format") : std::string();
    if (fmt != kFormat) fail("/format", "expected '" + std::string(kFormat) + "', got '" + fmt + "'; not a sample table");
    info.classNames = readStrings(file, "class_names", "/");
    info.classWeights = readDoubles(file, "class_weights", "/");
    info.bandNames = readStrings(file, "band_names", "/");
    info.bandMean = readDoubles(file, "band_mean", "/");
    info.bandStd = readDoubles(file, "band_std", "/");
    info.periodStarts = readStrings(file, "periods", "/");
    if (hasAttr(file, "tiles")) info.tiles = readStrings(file, "tiles", "/");
    if (hasAttr(file, "level")) info.level = readStringScalar("level");
    if (info.classNames.empty()) fail("/class_names", "no classes");
    if (info.classWeights.size() != info.classNames.size())
      fail("/class_weights", "has " + std::to_string(info.classWeights.size()) + " values for " +
                                 std::to_string(info.classNames.size()) + " classes");

    for (const char* split : {"train", "val", "test"}) {
      if (H5Lexists(file, split, H5P_DEFAULT) <= 0) continue;
      const std::string g = std::string("/") + split;
      Hid grp(checked(H5Gopen2(file, split, H5P_DEFAULT), path + ": open " + g), H5Gclose);
      if (H5Lexists(grp, "x", H5P_DEFAULT) <= 0) fail(g + "/x", "dataset missing");
      if (H5Lexists(grp, "y", H5P_DEFAULT) <= 0) fail(g + "/y", "dataset missing");
      Hid x(checked(H5Dopen2(grp, "x", H5P_DEFAULT), path + ": open " + g + "/x"), H5Dclose);
      Hid y(checked(H5Dopen2(grp, "y", H5P_DEFAULT), path + ": open " + g + "/y"), H5Dclose);
      auto xd = dims(x), yd = dims(y);
      if (xd.size() != 3) fail(g + "/x", "expected 3 dimensions [N, periods, bands], got " + std::to_string(xd.size()));
      if (yd.size() != 1 || yd[0] != xd[0])
        fail(g + "/y", "expected [" + std::to_string(xd[0]) + "] (one label per row of x)");
      if (info.periods == 0) {
        info.periods = static_cast<int>(xd[1]);
        info.bands = static_cast<int>(xd[2]);
      } else if (xd[1] != static_cast<hsize_t>(info.periods) || xd[2] != static_cast<hsize_t>(info.bands)) {
        fail(g + "/x", "has " + std::to_string(xd[1]) + " periods x " + std::to_string(xd[2]) +
                           " bands, other splits have " + std::to_string(info.periods) + " x " +
                           std::to_string(info.bands));
      }
      SplitMeta m;
      m.n = static_cast<std::int64_t>(xd[0]);
      Hid xt(checked(H5Dget_type(x), "H5Dget_type"), H5Tclose);
      if (H5Tget_class(xt) == H5T_INTEGER) {
        if (H5Tget_size(xt) != 2 || H5Tget_sign(xt) != H5T_SGN_NONE) fail(g + "/x", "integer x must be uint16");
        m.uint16 = true;
        if (!hasAttr(x, "scale_factor")) fail(g + "/x/scale_factor", "uint16 x needs a scale_factor attribute");
        m.scale = readDoubles(x, "scale_factor", g + "/x/")[0];
        if (hasAttr(x, "add_offset")) m.offset = readDoubles(x, "add_offset", g + "/x/")[0];
      } else if (H5Tget_class(xt) != H5T_FLOAT) {
        fail(g + "/x", "expected float32 or uint16 values");
      }
      for (const char* opt : {"parcel", "fold"}) {
        if (H5Lexists(grp, opt, H5P_DEFAULT) <= 0) continue;
        Hid d(checked(H5Dopen2(grp, opt, H5P_DEFAULT), path + ": open " + g + "/" + opt), H5Dclose);
        auto dd = dims(d);
        if (dd.size() != 1 || dd[0] != xd[0]) fail(g + "/" + opt, "expected one value per row of x");
        (std::string(opt) == "parcel" ? m.hasParcel : m.hasFold) = true;
      }
      splits[split] = m;
    }
    if (splits.empty()) fail("/", "no train, val or test group");
    if (info.bandMean.size() != static_cast<size_t>(info.bands))
      fail("/band_mean", "has " + std::to_string(info.bandMean.size()) + " values for " + std::to_string(info.bands) +
                             " bands");
    if (info.bandStd.size() != static_cast<size_t>(info.bands))
      fail("/band_std", "has " + std::to_string(info.bandStd.size()) + " values for " + std::to_string(info.bands) +
                            " bands");
    for (double s : info.bandStd)
      if (!(s > 0)) fail("/band_std", "standard deviations must be positive");
    if (info.bandNames.size() != static_cast<size_t>(info.bands))
      fail("/band_names", "has " + std::to_string(info.bandNames.size()) + " names for " + std::to_string(info.bands) +
                              " bands");
    if (info.periodStarts.size() != static_cast<size_t>(info.periods))
      fail("/periods", "has " + std::to_string(info.periodStarts.size()) + " dates for " +
                           std::to_string(info.periods) + " periods");
  }

  std::string readStringScalar(const char* name) const {
    auto v = readStrings(file, name, "/");
    if (v.size() != 1) fail(std::string("/") + name, "expected one string");
    return v[0];
  }

  // Collective read of `sorted` rows (ascending, unique) of one dataset of the split.
  void readRows(const std::string& split, const char* name, hid_t memType, size_t rowValues,
                const std::vector<std::int64_t>& sorted, void* out) const {
    const std::string key = "/" + split + "/" + name;
    Hid ds(checked(H5Dopen2(file, key.c_str(), H5P_DEFAULT), info.path + ": open " + key), H5Dclose);
    Hid fspace(checked(H5Dget_space(ds), "H5Dget_space"), H5Sclose);
    const int rank = H5Sget_simple_extent_ndims(fspace);
    std::vector<hsize_t> d(static_cast<size_t>(rank));
    H5Sget_simple_extent_dims(fspace, d.data(), nullptr);
    // An empty split has no storage to read from (and every rank sees it empty).
    if (!d.empty() && d[0] == 0) return;
    if (sorted.empty()) {
      checked(H5Sselect_none(fspace), "", "H5Sselect_none");
    } else {
      // Runs of consecutive rows become one hyperslab block each.
      bool first = true;
      size_t i = 0;
      while (i < sorted.size()) {
        size_t j = i + 1;
        while (j < sorted.size() && sorted[j] == sorted[j - 1] + 1) ++j;
        std::vector<hsize_t> start(d.size(), 0), count = d;
        start[0] = static_cast<hsize_t>(sorted[i]);
        count[0] = static_cast<hsize_t>(j - i);
        checked(H5Sselect_hyperslab(fspace, first ? H5S_SELECT_SET : H5S_SELECT_OR, start.data(), nullptr,
                                    count.data(), nullptr),
                "", info.path + ": select rows of " + key);
        first = false;
        i = j;
      }
    }
    const hsize_t total = static_cast<hsize_t>(sorted.size()) * rowValues;
    const hsize_t memDim = std::max<hsize_t>(total, 1);
    Hid mspace(checked(H5Screate_simple(1, &memDim, nullptr), "H5Screate_simple"), H5Sclose);
    double dummy = 0;
    if (total == 0) {
      // A rank with nothing to read still takes part in the collective call.
      checked(H5Sselect_none(mspace), "", "H5Sselect_none");
      out = &dummy;
    }
    Hid dxpl(checked(H5Pcreate(H5P_DATASET_XFER), "H5Pcreate"), H5Pclose);
    checked(H5Pset_dxpl_mpio(dxpl, H5FD_MPIO_COLLECTIVE), "", "H5Pset_dxpl_mpio");
    checked(H5Dread(ds, memType, mspace, fspace, dxpl, out), "", info.path + ": read " + key);
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
    impl_->readRows(split, "x", H5T_NATIVE_UINT16, cell, sorted, raw.data());
    for (size_t i = 0; i < raw.size(); ++i) xs[i] = static_cast<float>(raw[i] * m.scale + m.offset);
  } else {
    impl_->readRows(split, "x", H5T_NATIVE_FLOAT, cell, sorted, xs.data());
  }
  std::vector<std::int32_t> ys(k);
  impl_->readRows(split, "y", H5T_NATIVE_INT32, 1, sorted, ys.data());
  std::vector<std::int64_t> ps;
  if (m.hasParcel) {
    ps.resize(k);
    impl_->readRows(split, "parcel", H5T_NATIVE_INT64, 1, sorted, ps.data());
  }
  std::vector<std::int32_t> fs;
  if (m.hasFold) {
    fs.resize(k);
    impl_->readRows(split, "fold", H5T_NATIVE_INT32, 1, sorted, fs.data());
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

SampleRows SampleReader::readRange(const std::string& split, std::int64_t begin, std::int64_t end) {
  std::vector<std::int64_t> rows(static_cast<size_t>(std::max<std::int64_t>(end - begin, 0)));
  std::iota(rows.begin(), rows.end(), begin);
  return read(split, rows);
}

// ---------------------------------------------------------------------------
// Epoch arithmetic

namespace {
// splitmix64: a tiny generator whose output is fixed by its definition, so the
// same seed gives the same shuffle with any standard library.
std::uint64_t splitmix(std::uint64_t& s) {
  std::uint64_t z = (s += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}
std::uint64_t below(std::uint64_t& s, std::uint64_t bound) {
  const std::uint64_t limit = ~std::uint64_t{0} - (~std::uint64_t{0} % bound);
  std::uint64_t v;
  do v = splitmix(s);
  while (v >= limit);
  return v % bound;
}
}  // namespace

std::vector<std::int64_t> epochPermutation(std::int64_t n, std::uint64_t seed, int epoch) {
  std::vector<std::int64_t> p(static_cast<size_t>(n));
  std::iota(p.begin(), p.end(), std::int64_t{0});
  std::uint64_t s = seed * 0x100000001B3ull + static_cast<std::uint64_t>(epoch) + 1;
  for (std::int64_t i = n - 1; i > 0; --i) {
    auto j = static_cast<std::int64_t>(below(s, static_cast<std::uint64_t>(i + 1)));
    std::swap(p[static_cast<size_t>(i)], p[static_cast<size_t>(j)]);
  }
  return p;
}

std::int64_t shardLength(std::int64_t n, int size) { return n / size; }

std::vector<std::int64_t> epochShard(std::int64_t n, std::uint64_t seed, int epoch, int rank, int size) {
  const auto p = epochPermutation(n, seed, epoch);
  const std::int64_t m = shardLength(n, size);
  return std::vector<std::int64_t>(p.begin() + rank * m, p.begin() + (rank + 1) * m);
}

std::int64_t stepsPerEpoch(std::int64_t n, int size, int batch) { return (shardLength(n, size) + batch - 1) / batch; }

std::pair<std::int64_t, std::int64_t> contiguousSlice(std::int64_t n, int rank, int size) {
  const std::int64_t base = n / size, extra = n % size;
  const std::int64_t begin = rank * base + std::min<std::int64_t>(rank, extra);
  return {begin, begin + base + (rank < extra ? 1 : 0)};
}

}  // namespace cropmap
