#include "h5.hpp"

#include <hdf5_hl.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <exception>
#include <mutex>

namespace cropmap::h5 {

namespace {

herr_t collectMessage(unsigned n, const H5E_error2_t* e, void* data) {
  auto* out = static_cast<std::vector<std::string>*>(data);
  std::string msg = e->desc ? e->desc : "";
  if (e->func_name) msg = std::string(e->func_name) + ": " + msg;
  out->push_back(msg);
  (void)n;
  return 0;
}

std::string dimsText(const std::vector<hsize_t>& offset, const std::vector<hsize_t>& count) {
  std::string s = "[";
  for (size_t i = 0; i < offset.size(); ++i) {
    if (i) s += ",";
    s += std::to_string(offset[i]) + ":" + std::to_string(offset[i] + count[i]);
  }
  return s + "]";
}

}  // namespace

void quietErrors() {
  static std::once_flag once;
  std::call_once(once, [] { H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr); });
}

std::string errorStack() {
  std::vector<std::string> messages;
  H5Ewalk2(H5E_DEFAULT, H5E_WALK_DOWNWARD, collectMessage, &messages);
  H5Eclear2(H5E_DEFAULT);
  if (messages.empty()) return "no details from HDF5";
  // The outermost entry names the API call; the innermost says why.
  std::string s;
  const size_t shown = std::min<size_t>(messages.size(), 3);
  for (size_t i = messages.size() - shown; i < messages.size(); ++i) s += (s.empty() ? "" : "; ") + messages[i];
  return s;
}

std::int64_t check(std::int64_t status, const std::string& context, const char* operation) {
  if (status < 0) throw Error(context + ": " + operation + " failed: " + errorStack());
  return status;
}

void Handle::reset() noexcept {
  if (id_ >= 0 && closer_ && !(std::uncaught_exceptions() > 0 && H5Iget_type(id_) == H5I_FILE)) closer_(id_);
  id_ = H5I_INVALID_HID;
}

void Handle::close(const std::string& context) {
  if (id_ < 0) return;
  const hid_t id = id_;
  id_ = H5I_INVALID_HID;
  if (closer_) check(closer_(id), context, "close");
}

Handle transferList(Transfer mode) {
  Handle p(static_cast<hid_t>(check(H5Pcreate(H5P_DATASET_XFER), "transfer list", "H5Pcreate")), H5Pclose);
  // Without MPI the file has the POSIX driver (see fileAccess), where only independent transfers exist.
  int running = 0;
  MPI_Initialized(&running);
  if (!running) mode = Transfer::independent;
  check(H5Pset_dxpl_mpio(p.id(), mode == Transfer::collective ? H5FD_MPIO_COLLECTIVE : H5FD_MPIO_INDEPENDENT),
        "transfer list", "H5Pset_dxpl_mpio");
  return p;
}

template <> hid_t nativeType<std::uint8_t>() { return H5T_NATIVE_UINT8; }
template <> hid_t nativeType<std::int8_t>() { return H5T_NATIVE_INT8; }
template <> hid_t nativeType<std::uint16_t>() { return H5T_NATIVE_UINT16; }
template <> hid_t nativeType<std::int16_t>() { return H5T_NATIVE_INT16; }
template <> hid_t nativeType<std::uint32_t>() { return H5T_NATIVE_UINT32; }
template <> hid_t nativeType<std::int32_t>() { return H5T_NATIVE_INT32; }
template <> hid_t nativeType<std::uint64_t>() { return H5T_NATIVE_UINT64; }
template <> hid_t nativeType<std::int64_t>() { return H5T_NATIVE_INT64; }
template <> hid_t nativeType<float>() { return H5T_NATIVE_FLOAT; }
template <> hid_t nativeType<double>() { return H5T_NATIVE_DOUBLE; }

// ---------------------------------------------------------------------------
// Attributes

namespace {

Handle stringType(const std::string& ctx) {
  Handle t(static_cast<hid_t>(check(H5Tcopy(H5T_C_S1), ctx, "H5Tcopy")), H5Tclose);
  check(H5Tset_size(t.id(), H5T_VARIABLE), ctx, "H5Tset_size");
  check(H5Tset_cset(t.id(), H5T_CSET_UTF8), ctx, "H5Tset_cset");
  return t;
}

}  // namespace

bool Object::hasAttr(const std::string& name) const {
  return check(H5Aexists(id(), name.c_str()), where_ + " attribute '" + name + "'", "H5Aexists") > 0;
}

void Object::writeAttr(const std::string& name, hid_t memType, hid_t fileType, const std::vector<hsize_t>& dims,
                       const void* data) {
  const std::string ctx = where_ + " attribute '" + name + "'";
  // Replacing an attribute keeps its type and shape in step with the value.
  if (hasAttr(name)) check(H5Adelete(id(), name.c_str()), ctx, "H5Adelete");
  Handle space(dims.empty() ? static_cast<hid_t>(check(H5Screate(H5S_SCALAR), ctx, "H5Screate"))
                            : static_cast<hid_t>(check(H5Screate_simple(static_cast<int>(dims.size()), dims.data(),
                                                                        nullptr),
                                                       ctx, "H5Screate_simple")),
               H5Sclose);
  Handle attr(static_cast<hid_t>(
                  check(H5Acreate2(id(), name.c_str(), fileType, space.id(), H5P_DEFAULT, H5P_DEFAULT), ctx, "H5Acreate")),
              H5Aclose);
  // HDF5 wants a buffer even for a list of no elements, and reads none from it.
  static const std::uint64_t none[1] = {0};
  check(H5Awrite(attr.id(), memType, data ? data : none), ctx, "H5Awrite");
  attr.close(ctx);
}

void Object::setAttr(const std::string& name, const std::string& value) {
  Handle t = stringType(where_);
  const char* p = value.c_str();
  writeAttr(name, t.id(), t.id(), {}, &p);
}

void Object::setAttr(const std::string& name, const std::vector<std::string>& values) {
  Handle t = stringType(where_);
  std::vector<const char*> ptrs;
  for (const auto& v : values) ptrs.push_back(v.c_str());
  writeAttr(name, t.id(), t.id(), {static_cast<hsize_t>(values.size())}, ptrs.data());
}

void Object::setAttr(const std::string& name, double value) {
  writeAttr(name, H5T_NATIVE_DOUBLE, H5T_IEEE_F64LE, {}, &value);
}
void Object::setAttr(const std::string& name, const std::vector<double>& values) {
  writeAttr(name, H5T_NATIVE_DOUBLE, H5T_IEEE_F64LE, {static_cast<hsize_t>(values.size())}, values.data());
}
void Object::setAttr(const std::string& name, std::int64_t value) {
  writeAttr(name, H5T_NATIVE_INT64, H5T_STD_I64LE, {}, &value);
}
void Object::setAttr(const std::string& name, const std::vector<std::int64_t>& values) {
  writeAttr(name, H5T_NATIVE_INT64, H5T_STD_I64LE, {static_cast<hsize_t>(values.size())}, values.data());
}

Handle Object::openAttr(const std::string& name) const {
  const std::string ctx = where_ + " attribute '" + name + "'";
  if (!hasAttr(name)) throw Error(ctx + ": missing");
  return Handle(static_cast<hid_t>(check(H5Aopen(id(), name.c_str(), H5P_DEFAULT), ctx, "H5Aopen")), H5Aclose);
}

hsize_t Object::attrSize(const Handle& attr, const std::string& name) const {
  const std::string ctx = where_ + " attribute '" + name + "'";
  Handle space(static_cast<hid_t>(check(H5Aget_space(attr.id()), ctx, "H5Aget_space")), H5Sclose);
  return static_cast<hsize_t>(check(H5Sget_simple_extent_npoints(space.id()), ctx, "H5Sget_simple_extent_npoints"));
}

std::vector<std::string> Object::attrStrings(const std::string& name) const {
  const std::string ctx = where_ + " attribute '" + name + "'";
  Handle attr = openAttr(name);
  Handle ftype(static_cast<hid_t>(check(H5Aget_type(attr.id()), ctx, "H5Aget_type")), H5Tclose);
  if (H5Tget_class(ftype.id()) != H5T_STRING) throw Error(ctx + ": not a string attribute");
  const hsize_t n = attrSize(attr, name);
  std::vector<std::string> out;
  if (check(H5Tis_variable_str(ftype.id()), ctx, "H5Tis_variable_str") > 0) {
    Handle t = stringType(ctx);
    std::vector<char*> ptrs(n, nullptr);
    if (n > 0) check(H5Aread(attr.id(), t.id(), ptrs.data()), ctx, "H5Aread");
    for (char* p : ptrs) {
      out.emplace_back(p ? p : "");
      H5free_memory(p);
    }
  } else {
    const size_t len = H5Tget_size(ftype.id());
    std::vector<char> buf(n * len + 1, '\0');
    Handle t(static_cast<hid_t>(check(H5Tcopy(ftype.id()), ctx, "H5Tcopy")), H5Tclose);
    check(H5Aread(attr.id(), t.id(), buf.data()), ctx, "H5Aread");
    for (hsize_t i = 0; i < n; ++i) {
      std::string s(buf.data() + i * len, len);
      s.resize(std::strlen(s.c_str()));
      out.push_back(s);
    }
  }
  return out;
}

std::string Object::attrString(const std::string& name) const {
  auto v = attrStrings(name);
  if (v.size() != 1) throw Error(where_ + " attribute '" + name + "': expected one string, found " + std::to_string(v.size()));
  return v[0];
}

std::vector<double> Object::attrDoubles(const std::string& name) const {
  const std::string ctx = where_ + " attribute '" + name + "'";
  Handle attr = openAttr(name);
  std::vector<double> out(attrSize(attr, name));
  if (!out.empty()) check(H5Aread(attr.id(), H5T_NATIVE_DOUBLE, out.data()), ctx, "H5Aread");
  return out;
}

double Object::attrDouble(const std::string& name) const {
  auto v = attrDoubles(name);
  if (v.size() != 1) throw Error(where_ + " attribute '" + name + "': expected one number");
  return v[0];
}

std::vector<std::int64_t> Object::attrInts(const std::string& name) const {
  const std::string ctx = where_ + " attribute '" + name + "'";
  Handle attr = openAttr(name);
  std::vector<std::int64_t> out(attrSize(attr, name));
  if (!out.empty()) check(H5Aread(attr.id(), H5T_NATIVE_INT64, out.data()), ctx, "H5Aread");
  return out;
}

std::int64_t Object::attrInt(const std::string& name) const {
  auto v = attrInts(name);
  if (v.size() != 1) throw Error(where_ + " attribute '" + name + "': expected one integer");
  return v[0];
}

// ---------------------------------------------------------------------------
// Datasets

std::vector<hsize_t> Dataset::dims() const {
  Handle space(static_cast<hid_t>(check(H5Dget_space(id()), where_, "H5Dget_space")), H5Sclose);
  const int rank = static_cast<int>(check(H5Sget_simple_extent_ndims(space.id()), where_, "H5Sget_simple_extent_ndims"));
  std::vector<hsize_t> d(static_cast<size_t>(rank));
  check(H5Sget_simple_extent_dims(space.id(), d.data(), nullptr), where_, "H5Sget_simple_extent_dims");
  return d;
}

std::vector<hsize_t> Dataset::chunk() const {
  Handle dcpl(static_cast<hid_t>(check(H5Dget_create_plist(id()), where_, "H5Dget_create_plist")), H5Pclose);
  if (H5Pget_layout(dcpl.id()) != H5D_CHUNKED) return {};
  std::vector<hsize_t> c(32);
  const int rank = static_cast<int>(check(H5Pget_chunk(dcpl.id(), 32, c.data()), where_, "H5Pget_chunk"));
  c.resize(static_cast<size_t>(rank));
  return c;
}

Dataset::ElementType Dataset::elementType() const {
  Handle type(static_cast<hid_t>(check(H5Dget_type(id()), where_, "H5Dget_type")), H5Tclose);
  ElementType t;
  t.cls = H5Tget_class(type.id());
  t.bytes = H5Tget_size(type.id());
  t.isSigned = t.cls == H5T_INTEGER && H5Tget_sign(type.id()) == H5T_SGN_2;
  return t;
}

void Dataset::rowsIo(const std::vector<std::pair<hsize_t, hsize_t>>& runs, hid_t memType, void* data,
                     Transfer mode) {
  const auto d = dims();
  if (d.empty()) throw Error(where_ + ": a row read needs at least one dimension");
  Handle fspace(static_cast<hid_t>(check(H5Dget_space(id()), where_, "H5Dget_space")), H5Sclose);
  hsize_t rows = 0, perRow = 1;
  for (size_t i = 1; i < d.size(); ++i) perRow *= d[i];
  bool first = true;
  for (const auto& [start, count] : runs) {
    if (count == 0) continue;
    if (start + count > d[0])
      throw Error(where_ + ": read of rows " + std::to_string(start) + ".." + std::to_string(start + count) +
                  ": outside the " + std::to_string(d[0]) + " rows of the dataset");
    std::vector<hsize_t> off(d.size(), 0), cnt = d;
    off[0] = start;
    cnt[0] = count;
    check(H5Sselect_hyperslab(fspace.id(), first ? H5S_SELECT_SET : H5S_SELECT_OR, off.data(), nullptr, cnt.data(),
                              nullptr),
          where_, "H5Sselect_hyperslab");
    first = false;
    rows += count;
  }
  const hsize_t total = std::max<hsize_t>(rows * perRow, 1);
  Handle mspace(static_cast<hid_t>(check(H5Screate_simple(1, &total, nullptr), where_, "H5Screate_simple")), H5Sclose);
  double dummy = 0;
  if (rows == 0) {
    check(H5Sselect_none(fspace.id()), where_, "H5Sselect_none");
    check(H5Sselect_none(mspace.id()), where_, "H5Sselect_none");
    data = &dummy;
  }
  Handle xfer = transferList(mode);
  check(H5Dread(id(), memType, mspace.id(), fspace.id(), xfer.id(), data), where_,
        ("read of " + std::to_string(rows) + " rows").c_str());
}

void Dataset::io(bool writing, const std::vector<hsize_t>& offset, const std::vector<hsize_t>& count, hid_t memType,
                 void* data, Transfer mode) {
  const std::string op = std::string(writing ? "write of " : "read of ") + dimsText(offset, count);
  const auto d = dims();
  if (offset.size() != d.size() || count.size() != d.size())
    throw Error(where_ + ": " + op + ": selection has " + std::to_string(offset.size()) + " dimensions, dataset has " +
                std::to_string(d.size()));
  bool empty = false;
  for (size_t i = 0; i < d.size(); ++i) {
    if (count[i] == 0) empty = true;
    else if (offset[i] + count[i] > d[i])
      throw Error(where_ + ": " + op + ": outside the dataset extent " + dimsText(std::vector<hsize_t>(d.size(), 0), d));
  }
  Handle fspace(static_cast<hid_t>(check(H5Dget_space(id()), where_, "H5Dget_space")), H5Sclose);
  Handle mspace;
  if (empty) {
    check(H5Sselect_none(fspace.id()), where_, "H5Sselect_none");
    mspace = Handle(static_cast<hid_t>(check(H5Screate(H5S_NULL), where_, "H5Screate")), H5Sclose);
  } else {
    check(H5Sselect_hyperslab(fspace.id(), H5S_SELECT_SET, offset.data(), nullptr, count.data(), nullptr), where_,
          "H5Sselect_hyperslab");
    mspace = Handle(static_cast<hid_t>(check(H5Screate_simple(static_cast<int>(count.size()), count.data(), nullptr),
                                             where_, "H5Screate_simple")),
                    H5Sclose);
  }
  if (empty) check(H5Sselect_none(mspace.id()), where_, "H5Sselect_none");
  Handle xfer = transferList(mode);
  if (writing)
    check(H5Dwrite(id(), memType, mspace.id(), fspace.id(), xfer.id(), data), where_, op.c_str());
  else
    check(H5Dread(id(), memType, mspace.id(), fspace.id(), xfer.id(), data), where_, op.c_str());
}

void Dataset::writeAll(hid_t memType, const void* data, bool writer) {
  const auto d = dims();
  std::vector<hsize_t> count = d;
  if (!writer) count.assign(d.size(), 0);
  io(true, std::vector<hsize_t>(d.size(), 0), count, memType, const_cast<void*>(data), Transfer::collective);
}

void Dataset::makeDimensionScale(const std::string& name) {
  check(H5DSset_scale(id(), name.c_str()), where_, "H5DSset_scale");
}

void Dataset::attachScale(const Dataset& scale, unsigned dim) {
  check(H5DSattach_scale(id(), scale.id(), dim), where_ + " dimension " + std::to_string(dim) + " <- " + scale.where(),
        "H5DSattach_scale");
}

void Dataset::detachScale(const Dataset& scale, unsigned dim) {
  check(H5DSdetach_scale(id(), scale.id(), dim), where_ + " dimension " + std::to_string(dim) + " <- " + scale.where(),
        "H5DSdetach_scale");
}

// ---------------------------------------------------------------------------
// Groups

std::string Group::childWhere(const std::string& name) const {
  if (!where_.empty() && where_.back() == '/') return where_ + name;
  return where_ + "/" + name;
}

bool Group::exists(const std::string& name) const {
  return check(H5Lexists(id(), name.c_str(), H5P_DEFAULT), childWhere(name), "H5Lexists") > 0;
}

Group Group::createGroup(const std::string& name) {
  const std::string w = childWhere(name);
  return Group(Handle(static_cast<hid_t>(check(H5Gcreate2(id(), name.c_str(), H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT),
                                                w, "H5Gcreate (collective: every rank must create it)")),
                      H5Gclose),
               w);
}

Group Group::openGroup(const std::string& name) const {
  const std::string w = childWhere(name);
  if (!exists(name)) throw Error(w + ": no such group");
  return Group(Handle(static_cast<hid_t>(check(H5Gopen2(id(), name.c_str(), H5P_DEFAULT), w, "H5Gopen")), H5Gclose), w);
}

Group Group::openOrCreateGroup(const std::string& name) { return exists(name) ? openGroup(name) : createGroup(name); }

Dataset Group::createDataset(const std::string& name, const DatasetSpec& spec) {
  const std::string w = childWhere(name);
  Handle space(static_cast<hid_t>(check(H5Screate_simple(static_cast<int>(spec.dims.size()), spec.dims.data(), nullptr),
                                        w, "H5Screate_simple")),
               H5Sclose);
  Handle dcpl(static_cast<hid_t>(check(H5Pcreate(H5P_DATASET_CREATE), w, "H5Pcreate")), H5Pclose);
  if (!spec.chunk.empty()) {
    if (spec.chunk.size() != spec.dims.size()) throw Error(w + ": chunk rank differs from dataset rank");
    std::vector<hsize_t> c = spec.chunk;
    // A chunk larger than a (small) dataset is legal but wastes space.
    for (size_t i = 0; i < c.size(); ++i) c[i] = std::max<hsize_t>(1, std::min(c[i], spec.dims[i]));
    check(H5Pset_chunk(dcpl.id(), static_cast<int>(c.size()), c.data()), w, "H5Pset_chunk");
  }
  check(H5Pset_alloc_time(dcpl.id(), H5D_ALLOC_TIME_EARLY), w, "H5Pset_alloc_time");
  if (spec.fill) check(H5Pset_fill_value(dcpl.id(), spec.type, spec.fill), w, "H5Pset_fill_value");
  check(H5Pset_fill_time(dcpl.id(), spec.fillTime == FillTime::alloc ? H5D_FILL_TIME_ALLOC : H5D_FILL_TIME_NEVER), w,
        "H5Pset_fill_time");
  // No timestamps: the same inputs give byte-identical metadata.
  check(H5Pset_obj_track_times(dcpl.id(), false), w, "H5Pset_obj_track_times");
  return Dataset(Handle(static_cast<hid_t>(check(H5Dcreate2(id(), name.c_str(), spec.type, space.id(), H5P_DEFAULT,
                                                            dcpl.id(), H5P_DEFAULT),
                                                 w, "H5Dcreate (collective: every rank must create it)")),
                        H5Dclose),
                 w);
}

Dataset Group::openDataset(const std::string& name) const {
  const std::string w = childWhere(name);
  if (!exists(name)) throw Error(w + ": no such dataset");
  return Dataset(Handle(static_cast<hid_t>(check(H5Dopen2(id(), name.c_str(), H5P_DEFAULT), w, "H5Dopen")), H5Dclose),
                 w);
}

void Group::unlink(const std::string& name) {
  check(H5Ldelete(id(), name.c_str(), H5P_DEFAULT), childWhere(name), "H5Ldelete");
}

namespace {
herr_t collectName(hid_t, const char* name, const H5L_info_t*, void* data) {
  static_cast<std::vector<std::string>*>(data)->push_back(name);
  return 0;
}
}  // namespace

std::vector<std::string> Group::children() const {
  std::vector<std::string> names;
  hsize_t idx = 0;
  check(H5Literate(id(), H5_INDEX_NAME, H5_ITER_INC, &idx, collectName, &names), where_, "H5Literate");
  return names;
}

// ---------------------------------------------------------------------------
// Files

namespace {

Handle accessList(MPI_Comm comm, const FileOptions& o, const std::string& path) {
  Handle fapl(static_cast<hid_t>(check(H5Pcreate(H5P_FILE_ACCESS), path, "H5Pcreate")), H5Pclose);
  int running = 0;
  MPI_Initialized(&running);
  if (!running) return fapl;  // a process without MPI (a tool, a test fixture): the POSIX driver
  check(H5Pset_fapl_mpio(fapl.id(), comm, MPI_INFO_NULL), path, "H5Pset_fapl_mpio");
  check(H5Pset_coll_metadata_write(fapl.id(), o.collectiveMetadataWrites), path, "H5Pset_coll_metadata_write");
  check(H5Pset_all_coll_metadata_ops(fapl.id(), o.collectiveMetadataReads), path, "H5Pset_all_coll_metadata_ops");
  return fapl;
}

}  // namespace

File File::create(const std::string& path, MPI_Comm comm, const FileOptions& options) {
  quietErrors();
  Handle fapl = accessList(comm, options, path);
  Handle f(static_cast<hid_t>(check(H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, fapl.id()), path,
                                    "H5Fcreate (is the directory writable?)")),
           H5Fclose);
  return File(std::move(f), path);
}

File File::open(const std::string& path, MPI_Comm comm, bool writable, const FileOptions& options) {
  quietErrors();
  if (!std::filesystem::exists(path)) throw Error(path + ": no such file");
  Handle fapl = accessList(comm, options, path);
  Handle f(static_cast<hid_t>(check(H5Fopen(path.c_str(), writable ? H5F_ACC_RDWR : H5F_ACC_RDONLY, fapl.id()), path,
                                    writable ? "H5Fopen for writing" : "H5Fopen")),
           H5Fclose);
  return File(std::move(f), path);
}

bool File::isHdf5(const std::string& path) {
  quietErrors();
  if (!std::filesystem::exists(path)) return false;
  return H5Fis_hdf5(path.c_str()) > 0;
}

Group File::root() const {
  return Group(Handle(static_cast<hid_t>(check(H5Gopen2(id(), "/", H5P_DEFAULT), path_, "H5Gopen /")), H5Gclose),
               path_ + ":/");
}

void File::flush() { check(H5Fflush(id(), H5F_SCOPE_GLOBAL), path_, "H5Fflush (collective)"); }

void File::close() { h_.close(path_); }

}  // namespace cropmap::h5
