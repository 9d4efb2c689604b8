// Parallel HDF5 at the boundary: RAII identifiers and checked calls.
//
// Every HDF5 call in cropmap goes through this layer. Identifiers are owned by
// move-only handles that close themselves; every return code is checked and a
// failure becomes an h5::Error naming the file, the object path and the
// operation, followed by the innermost messages of HDF5's error stack. Files
// are always opened through the MPI-IO driver (a single process uses
// MPI_COMM_SELF), with collective metadata writes, so one code path serves the
// singleton run, the tests and the 1000-rank job; only a process that never
// started MPI (a test writing a fixture) gets HDF5's POSIX driver. Raw data moves through
// hyperslab reads and writes with an explicit Transfer mode: independent for
// work units that ranks process at their own pace, collective where every rank
// takes part in the same call.
#pragma once

#include <hdf5.h>
#include <mpi.h>

#include <cstdint>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace cropmap::h5 {

class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// "what: <innermost HDF5 messages>" for the error stack of this thread.
std::string errorStack();
// Throws Error("CONTEXT: OPERATION failed: <stack>") when status < 0; returns status.
std::int64_t check(std::int64_t status, const std::string& context, const char* operation);

// Owns one HDF5 identifier and closes it with the matching H5?close.
class Handle {
 public:
  using Closer = herr_t (*)(hid_t);
  Handle() = default;
  Handle(hid_t id, Closer closer) : id_(id), closer_(closer) {}
  ~Handle() { reset(); }
  Handle(Handle&& o) noexcept : id_(o.id_), closer_(o.closer_) { o.id_ = H5I_INVALID_HID; }
  Handle& operator=(Handle&& o) noexcept {
    if (this != &o) {
      reset();
      id_ = o.id_;
      closer_ = o.closer_;
      o.id_ = H5I_INVALID_HID;
    }
    return *this;
  }
  Handle(const Handle&) = delete;
  Handle& operator=(const Handle&) = delete;

  hid_t id() const { return id_; }
  bool valid() const { return id_ >= 0; }
  // Close now, reporting a failure (destructors close silently).
  void close(const std::string& context);

 private:
  // Closes the identifier, except a file while an exception unwinds: closing a
  // parallel file is collective, and the other ranks are not there to take
  // part (the job is about to be aborted; the metadata was flushed earlier).
  void reset() noexcept;
  hid_t id_ = H5I_INVALID_HID;
  Closer closer_ = nullptr;
};

// How raw data moves between ranks and the file.
enum class Transfer { independent, collective };
// A dataset-transfer property list for the mode (H5Pset_dxpl_mpio).
Handle transferList(Transfer mode);

// When the fill value is written into newly allocated chunks.
enum class FillTime {
  alloc,  // at creation: unwritten regions read back as the fill value
  never   // never: only for datasets whose every element the writing stage writes
};

// The HDF5 native type of T (uint8 … float64).
template <class T>
hid_t nativeType();

struct FileOptions {
  // Metadata writes gathered and written collectively at flush (scales to many ranks).
  bool collectiveMetadataWrites = true;
  // Metadata reads done by one rank and broadcast. Every rank must then make the
  // same metadata calls in the same order, so it is off by default: stages open
  // objects collectively but read raw data independently.
  bool collectiveMetadataReads = false;
};

class Dataset;
class Group;

// Attributes shared by groups and datasets. Writing attributes changes
// metadata: in a parallel file every rank must call it with the same value.
class Object {
 public:
  hid_t id() const { return h_.id(); }
  // "FILE:/path/in/file", for messages.
  const std::string& where() const { return where_; }

  bool hasAttr(const std::string& name) const;
  void setAttr(const std::string& name, const std::string& value);
  void setAttr(const std::string& name, const char* value) { setAttr(name, std::string(value)); }
  void setAttr(const std::string& name, const std::vector<std::string>& values);
  void setAttr(const std::string& name, double value);
  void setAttr(const std::string& name, const std::vector<double>& values);
  void setAttr(const std::string& name, std::int64_t value);
  void setAttr(const std::string& name, int value) { setAttr(name, static_cast<std::int64_t>(value)); }
  void setAttr(const std::string& name, const std::vector<std::int64_t>& values);
  // A one-element or list attribute of the element type T itself (CF wants
  // _FillValue and flag_values in the variable's own type).
  template <class T>
  void setTypedAttr(const std::string& name, const std::vector<T>& values) {
    writeAttr(name, nativeType<T>(), nativeType<T>(), {static_cast<hsize_t>(values.size())}, values.data());
  }

  std::string attrString(const std::string& name) const;
  std::vector<std::string> attrStrings(const std::string& name) const;
  double attrDouble(const std::string& name) const;
  std::vector<double> attrDoubles(const std::string& name) const;
  std::int64_t attrInt(const std::string& name) const;
  std::vector<std::int64_t> attrInts(const std::string& name) const;

 protected:
  Object() = default;
  Object(Handle h, std::string where) : h_(std::move(h)), where_(std::move(where)) {}
  void writeAttr(const std::string& name, hid_t memType, hid_t fileType, const std::vector<hsize_t>& dims,
                 const void* data);
  Handle openAttr(const std::string& name) const;
  hsize_t attrSize(const Handle& attr, const std::string& name) const;
  Handle h_;
  std::string where_;
};

class Dataset : public Object {
 public:
  Dataset() = default;
  std::vector<hsize_t> dims() const;
  // Chunk dimensions; empty for a contiguous dataset.
  std::vector<hsize_t> chunk() const;
  // The stored element type.
  struct ElementType {
    H5T_class_t cls = H5T_NO_CLASS;  // H5T_INTEGER, H5T_FLOAT, H5T_STRING, ...
    size_t bytes = 0;
    bool isSigned = false;
  };
  ElementType elementType() const;

  // Hyperslab of `count` elements starting at `offset`; `data` holds them in
  // row-major order. A count with a zero selects nothing (a rank with no share
  // of a collective write still takes part).
  template <class T>
  void write(const std::vector<hsize_t>& offset, const std::vector<hsize_t>& count, const T* data,
             Transfer mode = Transfer::independent) {
    io(true, offset, count, nativeType<T>(), const_cast<T*>(data), mode);
  }
  template <class T>
  void read(const std::vector<hsize_t>& offset, const std::vector<hsize_t>& count, T* data,
            Transfer mode = Transfer::independent) const {
    const_cast<Dataset*>(this)->io(false, offset, count, nativeType<T>(), data, mode);
  }
  // Writes the whole dataset from `data` (of memType) collectively; ranks
  // other than the writer take part with an empty selection.
  void writeAll(hid_t memType, const void* data, bool writer);

  // Dimension scales (netCDF-4 dimensions). Collective in a parallel file.
  // makeDimensionScale turns this dataset into the scale of dimension `name`;
  // attachScale attaches `scale` to dimension `dim` of this dataset and
  // detachScale undoes it (before the dataset is unlinked).
  void makeDimensionScale(const std::string& name);
  void attachScale(const Dataset& scale, unsigned dim);
  void detachScale(const Dataset& scale, unsigned dim);

  // Whole rows (along the first dimension) given as ascending, disjoint runs
  // (first row, rows), read in one call into `data` in row order. No runs
  // selects nothing (a rank without rows still takes part in a collective read).
  template <class T>
  void readRows(const std::vector<std::pair<hsize_t, hsize_t>>& runs, T* data,
                Transfer mode = Transfer::independent) const {
    const_cast<Dataset*>(this)->rowsIo(runs, nativeType<T>(), data, mode);
  }

 private:
  friend class Group;
  Dataset(Handle h, std::string where) : Object(std::move(h), std::move(where)) {}
  void io(bool writing, const std::vector<hsize_t>& offset, const std::vector<hsize_t>& count, hid_t memType,
          void* data, Transfer mode);
  void rowsIo(const std::vector<std::pair<hsize_t, hsize_t>>& runs, hid_t memType, void* data, Transfer mode);
};

struct DatasetSpec {
  hid_t type = H5I_INVALID_HID;      // a native type (nativeType<T>())
  std::vector<hsize_t> dims;
  std::vector<hsize_t> chunk;        // empty: contiguous
  const void* fill = nullptr;        // one element of `type`; null: HDF5's default (zeros)
  FillTime fillTime = FillTime::alloc;
};

class Group : public Object {
 public:
  Group() = default;
  bool exists(const std::string& name) const;  // a direct child link
  Group createGroup(const std::string& name);
  Group openGroup(const std::string& name) const;
  Group openOrCreateGroup(const std::string& name);
  // Space is allocated at creation (parallel HDF5 needs it, and it keeps later
  // writes free of metadata changes).
  Dataset createDataset(const std::string& name, const DatasetSpec& spec);
  template <class T>
  Dataset createDataset(const std::string& name, std::vector<hsize_t> dims, std::vector<hsize_t> chunk, T fill,
                        FillTime fillTime = FillTime::alloc) {
    return createDataset(name, DatasetSpec{nativeType<T>(), std::move(dims), std::move(chunk), &fill, fillTime});
  }
  Dataset openDataset(const std::string& name) const;
  void unlink(const std::string& name);
  std::vector<std::string> children() const;  // link names in name order

 private:
  friend class File;
  Group(Handle h, std::string where) : Object(std::move(h), std::move(where)) {}
  std::string childWhere(const std::string& name) const;
};

// A file opened through MPI-IO on `comm`. Creating, opening, flushing and
// closing are collective over comm.
class File {
 public:
  File() = default;
  static File create(const std::string& path, MPI_Comm comm, const FileOptions& options = {});
  static File open(const std::string& path, MPI_Comm comm, bool writable, const FileOptions& options = {});
  // True when path is an HDF5 file (any rank may call it; no collective).
  static bool isHdf5(const std::string& path);

  const std::string& path() const { return path_; }
  hid_t id() const { return h_.id(); }
  bool isOpen() const { return h_.valid(); }
  Group root() const;
  // Write all dirty metadata and raw data to the file (collective).
  void flush();
  void close();

 private:
  File(Handle h, std::string path) : h_(std::move(h)), path_(std::move(path)) {}
  Handle h_;
  std::string path_;
};

// Silence HDF5's automatic error printing: cropmap reports errors itself.
void quietErrors();

}  // namespace cropmap::h5
