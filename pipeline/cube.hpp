// The cube: the one HDF5 file of a run that every stage after compositing reads
// (DESIGN §4).
//
//   /                      attrs format, format_version, periods (ISO start dates),
//                          period_ends, bands, band_offsets, scale_factor, fill_value,
//                          chunk, tiles, config (YAML text)
//   /tiles/<T>             attrs crs_wkt, epsg, geotransform, width, height
//
// Each tile group is also a netCDF-4 / CF-1.8 group (xarray, ncdump, GDAL's
// netCDF driver open it): dimension scales x, y (pixel-centre map
// coordinates), period (days since 1970-01-01 with period_bounds), band
// (names), a band_offset(band) variable, the grid mapping spatial_ref (scalar,
// crs_wkt / spatial_ref / GeoTransform), and CF attributes (_FillValue,
// scale_factor, units, long_name, grid_mapping) on reflectance, valid and
// every layer. Reflectance = stored * scale_factor + band_offset[band].
//   /tiles/<T>/reflectance uint16 [P, B, H, W] chunked [P, B, c, c]; value =
//                          stored * scale_factor + band_offsets[b]; fill_value = no data
//   /tiles/<T>/valid       uint8 [P, H, W]: clear observations per period (0 = filled by interpolation)
//   /tiles/<T>/<layer>     [H, W] chunked [c, c]: per-pixel layers of later stages
//                          (label int16, parcel int64, split uint8, ...)
//   /ledger/<stage>/done   uint8 [N]: 1 once work unit n of the stage is written
//   /ledger/<stage>/units  int64 [N, 5]: tile index, row0, col0, rows, cols of each unit
//
// Consistency after a kill: everything that changes metadata (groups, datasets,
// attributes, ledgers) is created collectively and flushed before any block is
// written; chunked datasets are allocated at creation. From then on a stage only
// overwrites raw bytes, so a job killed at any moment leaves a file that opens,
// and the ledger (written after a unit's data) says exactly which units to redo.
// Work units are aligned on chunks, so no two ranks ever write into one chunk.
#pragma once

#include <algorithm>
#include <array>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "grid.hpp"
#include "h5.hpp"

namespace cropmap {

struct CubeLayout {
  std::vector<std::string> periods;     // ISO start dates
  std::vector<std::string> periodEnds;  // ISO end dates (exclusive)
  std::vector<std::string> bands;       // spectral bands then indices
  std::vector<double> bandOffsets;      // per band: value = stored * scaleFactor + offset
  double scaleFactor = 1e-4;
  std::uint16_t fillValue = 65535;
  int chunk = 64;
  std::string configYaml;
};

class Cube {
 public:
  static constexpr const char* kFormat = "cropmap-cube";
  static constexpr int kFormatVersion = 2;  // 2: CF / netCDF-4 coordinates

  Cube() = default;
  Cube(Cube&&) = default;
  Cube& operator=(Cube&&) = default;
  ~Cube();

  // Collective: writes the root and tile groups, reflectance and valid
  // datasets (truncating an existing file) and flushes.
  static Cube create(const std::string& path, MPI_Comm comm, const CubeLayout& layout,
                     const std::vector<TileGrid>& tiles);
  // Collective: opens an existing cube and reads its layout and tile grids.
  static Cube open(const std::string& path, MPI_Comm comm, bool writable);

  const std::string& path() const { return file_.path(); }
  const CubeLayout& layout() const { return layout_; }
  const std::vector<TileGrid>& tiles() const { return tiles_; }
  int tileIndex(const std::string& name) const;  // throws for an unknown tile
  const TileGrid& tile(const std::string& name) const { return tiles_[static_cast<size_t>(tileIndex(name))]; }
  int periods() const { return static_cast<int>(layout_.periods.size()); }
  int bands() const { return static_cast<int>(layout_.bands.size()); }

  // Block I/O of the composite. `data` is [P][B][rows][cols] (reflectance) or
  // [P][rows][cols] (valid). Writes must be chunk-aligned (see above).
  void writeReflectance(const std::string& tile, const Window& w, const std::uint16_t* data,
                        h5::Transfer mode = h5::Transfer::independent);
  void readReflectance(const std::string& tile, const Window& w, std::uint16_t* data,
                       h5::Transfer mode = h5::Transfer::independent);
  void writeValid(const std::string& tile, const Window& w, const std::uint8_t* data,
                  h5::Transfer mode = h5::Transfer::independent);
  void readValid(const std::string& tile, const Window& w, std::uint8_t* data,
                 h5::Transfer mode = h5::Transfer::independent);

  // Per-pixel layers [H, W] of later stages. createLayer is collective and
  // creates the dataset in every tile (replacing an existing one), filled
  // with `fill` so that pixels a stage never touches read as "none".
  // `attrs` become the layer's CF attributes (flag values in the layer's
  // type), next to _FillValue = fill and grid_mapping.
  struct LayerAttrs {
    std::string longName, units, flagMeanings;
    std::vector<std::int64_t> flagValues;
  };
  template <class T>
  void createLayer(const std::string& name, T fill, const LayerAttrs& attrs = {}) {
    createLayerImpl(name, h5::nativeType<T>(), &fill, attrs);
    for (const auto& t : tiles_) {
      h5::Dataset& d = layer(t.name, name);
      d.setTypedAttr<T>("_FillValue", {fill});
      if (!attrs.flagValues.empty()) {
        std::vector<T> flags;
        for (auto v : attrs.flagValues) flags.push_back(static_cast<T>(v));
        d.setTypedAttr<T>("flag_values", flags);
      }
    }
    file_.flush();
  }
  bool hasLayer(const std::string& name) const;
  template <class T>
  void writeLayer(const std::string& tile, const std::string& name, const Window& w, const T* data,
                  h5::Transfer mode = h5::Transfer::independent) {
    checkAligned(tile, w, "write of layer " + name);
    byChunks<T>(layer(tile, name), true, {}, w, const_cast<T*>(data), mode);
  }
  template <class T>
  void readLayer(const std::string& tile, const std::string& name, const Window& w, T* data,
                 h5::Transfer mode = h5::Transfer::independent) {
    byChunks<T>(layer(tile, name), false, {}, w, data, mode);
  }

  // Ledger of a stage's work units (for --resume). createLedger is collective
  // and starts with nothing done; markDone is independent and must be called
  // after the unit's data are written.
  void createLedger(const std::string& stage, const std::vector<WorkUnit>& units);
  bool hasLedger(const std::string& stage) const;
  // The units recorded at creation (index and block; cost 0).
  std::vector<WorkUnit> ledgerUnits(const std::string& stage);
  std::vector<std::uint8_t> ledgerDone(const std::string& stage);
  void markDone(const std::string& stage, std::int64_t unit);
  // True when the stage has a ledger and every unit is done.
  bool complete(const std::string& stage);

  // Escape hatches for stages that add their own objects (/legend, /zones):
  // every metadata change must be collective and followed by flush().
  h5::File& file() { return file_; }
  h5::Group root() const { return file_.root(); }
  h5::Group tileGroup(const std::string& tile) const;

  void flush() { file_.flush(); }
  void close();  // collective

 private:
  struct TileData {
    h5::Group group;
    h5::Dataset reflectance, valid;
    h5::Dataset x, y;  // dimension scales, attached to every layer
    std::map<std::string, h5::Dataset> layers;
  };
  void createLayerImpl(const std::string& name, hid_t type, const void* fill, const LayerAttrs& attrs);
  void writeCfCoordinates(TileData& d, const TileGrid& t);
  h5::Dataset& layer(const std::string& tile, const std::string& name);
  void checkAligned(const std::string& tile, const Window& w, const std::string& what) const;
  TileData& data(const std::string& tile);

  // Moves a window laid out [lead...][rows][cols] one chunk at a time through
  // a packed buffer, so that memory and file are both contiguous: MPI-IO then
  // writes a chunk in one call instead of one call per row segment (measured:
  // ~18,000 pwrite calls per 128x128 block without it). Collective transfers
  // go in one call, since every rank must make the same number of calls.
  template <class T>
  void byChunks(h5::Dataset& ds, bool writing, const std::vector<hsize_t>& lead, const Window& w, T* data,
                h5::Transfer mode) {
    std::vector<hsize_t> off(lead.size(), 0), cnt = lead;
    off.push_back(static_cast<hsize_t>(w.row0));
    off.push_back(static_cast<hsize_t>(w.col0));
    cnt.push_back(static_cast<hsize_t>(w.rows));
    cnt.push_back(static_cast<hsize_t>(w.cols));
    if (mode == h5::Transfer::collective) {
      if (writing) ds.write<T>(off, cnt, data, mode);
      else ds.read<T>(off, cnt, data, mode);
      return;
    }
    size_t L = 1;
    for (hsize_t d : lead) L *= static_cast<size_t>(d);
    const int c = layout_.chunk;
    std::vector<T> buf;
    // Chunk grid cells overlapping the window (windows are chunk-aligned for
    // writes; reads may start anywhere).
    const int rFirst = (w.row0 / c) * c, cFirst = (w.col0 / c) * c;
    for (int r = rFirst; r < w.row0 + w.rows; r += c)
      for (int q = cFirst; q < w.col0 + w.cols; q += c) {
        const int r0 = std::max(r, w.row0), r1 = std::min(r + c, w.row0 + w.rows);
        const int q0 = std::max(q, w.col0), q1 = std::min(q + c, w.col0 + w.cols);
        const size_t h = static_cast<size_t>(r1 - r0), wd = static_cast<size_t>(q1 - q0);
        buf.resize(L * h * wd);
        auto at = [&](size_t l, size_t rr) {
          return data + (l * static_cast<size_t>(w.rows) + static_cast<size_t>(r0 - w.row0) + rr) *
                            static_cast<size_t>(w.cols) +
                 static_cast<size_t>(q0 - w.col0);
        };
        off[lead.size()] = static_cast<hsize_t>(r0);
        off[lead.size() + 1] = static_cast<hsize_t>(q0);
        cnt[lead.size()] = h;
        cnt[lead.size() + 1] = wd;
        if (writing) {
          for (size_t l = 0; l < L; ++l)
            for (size_t rr = 0; rr < h; ++rr) std::copy(at(l, rr), at(l, rr) + wd, buf.data() + (l * h + rr) * wd);
          ds.write<T>(off, cnt, buf.data(), mode);
        } else {
          ds.read<T>(off, cnt, buf.data(), mode);
          for (size_t l = 0; l < L; ++l)
            for (size_t rr = 0; rr < h; ++rr)
              std::copy(buf.data() + (l * h + rr) * wd, buf.data() + (l * h + rr + 1) * wd, at(l, rr));
        }
      }
  }

  // Declared first so it is destroyed last: HDF5 closes a file only after its objects.
  h5::File file_;
  MPI_Comm comm_ = MPI_COMM_NULL;
  CubeLayout layout_;
  std::vector<TileGrid> tiles_;
  std::map<std::string, TileData> data_;
  std::map<std::string, h5::Dataset> ledgers_;
};

}  // namespace cropmap
