#include "cube.hpp"

#include <algorithm>

namespace cropmap {

namespace {

TileGrid readGrid(const h5::Group& g, const std::string& name) {
  TileGrid t;
  t.name = name;
  t.crsWkt = g.attrString("crs_wkt");
  t.epsg = static_cast<int>(g.attrInt("epsg"));
  auto gt = g.attrDoubles("geotransform");
  if (gt.size() != 6) throw h5::Error(g.where() + ": geotransform must hold 6 numbers");
  std::copy(gt.begin(), gt.end(), t.geotransform.begin());
  t.width = static_cast<int>(g.attrInt("width"));
  t.height = static_cast<int>(g.attrInt("height"));
  return t;
}

}  // namespace

Cube::~Cube() = default;

Cube Cube::create(const std::string& path, MPI_Comm comm, const CubeLayout& layout,
                  const std::vector<TileGrid>& tiles) {
  if (layout.periods.empty() || layout.bands.empty()) throw h5::Error(path + ": a cube needs periods and bands");
  if (layout.bandOffsets.size() != layout.bands.size())
    throw h5::Error(path + ": band_offsets must have one entry per band");
  Cube c;
  c.file_ = h5::File::create(path, comm);
  c.comm_ = comm;
  c.layout_ = layout;
  c.tiles_ = tiles;
  h5::Group root = c.file_.root();
  root.setAttr("format", kFormat);
  root.setAttr("format_version", kFormatVersion);
  root.setAttr("periods", layout.periods);
  root.setAttr("period_ends", layout.periodEnds);
  root.setAttr("bands", layout.bands);
  root.setAttr("band_offsets", layout.bandOffsets);
  root.setAttr("scale_factor", layout.scaleFactor);
  root.setAttr("fill_value", static_cast<std::int64_t>(layout.fillValue));
  root.setAttr("chunk", layout.chunk);
  std::vector<std::string> names;
  for (const auto& t : tiles) names.push_back(t.name);
  root.setAttr("tiles", names);
  root.setAttr("config", layout.configYaml);

  const hsize_t P = layout.periods.size(), B = layout.bands.size(), ch = static_cast<hsize_t>(layout.chunk);
  h5::Group tilesGroup = root.createGroup("tiles");
  for (const auto& t : tiles) {
    TileData d;
    d.group = tilesGroup.createGroup(t.name);
    d.group.setAttr("crs_wkt", t.crsWkt);
    d.group.setAttr("epsg", t.epsg);
    d.group.setAttr("geotransform", std::vector<double>(t.geotransform.begin(), t.geotransform.end()));
    d.group.setAttr("width", t.width);
    d.group.setAttr("height", t.height);
    const hsize_t H = static_cast<hsize_t>(t.height), W = static_cast<hsize_t>(t.width);
    // The composite writes every element of both datasets (no-data pixels get
    // the fill value explicitly), so writing the fill at allocation would only
    // double the I/O of a national cube; the value is still recorded.
    d.reflectance = d.group.createDataset<std::uint16_t>("reflectance", {P, B, H, W}, {P, B, ch, ch},
                                                         layout.fillValue, h5::FillTime::never);
    d.reflectance.setAttr("scale_factor", layout.scaleFactor);
    d.valid = d.group.createDataset<std::uint8_t>("valid", {P, H, W}, {P, ch, ch}, std::uint8_t{0},
                                                  h5::FillTime::never);
    c.data_.emplace(t.name, std::move(d));
  }
  c.file_.flush();
  return c;
}

Cube Cube::open(const std::string& path, MPI_Comm comm, bool writable) {
  Cube c;
  c.file_ = h5::File::open(path, comm, writable);
  c.comm_ = comm;
  h5::Group root = c.file_.root();
  if (!root.hasAttr("format") || root.attrString("format") != kFormat)
    throw h5::Error(path + ": not a cropmap cube (attribute format != " + kFormat + ")");
  const auto version = root.attrInt("format_version");
  if (version != kFormatVersion)
    throw h5::Error(path + ": cube format version " + std::to_string(version) + ", this cropmap reads version " +
                    std::to_string(kFormatVersion) + "; recreate it with `cropmap composite`");
  c.layout_.periods = root.attrStrings("periods");
  c.layout_.periodEnds = root.attrStrings("period_ends");
  c.layout_.bands = root.attrStrings("bands");
  c.layout_.bandOffsets = root.attrDoubles("band_offsets");
  c.layout_.scaleFactor = root.attrDouble("scale_factor");
  c.layout_.fillValue = static_cast<std::uint16_t>(root.attrInt("fill_value"));
  c.layout_.chunk = static_cast<int>(root.attrInt("chunk"));
  c.layout_.configYaml = root.attrString("config");
  h5::Group tilesGroup = root.openGroup("tiles");
  for (const auto& name : root.attrStrings("tiles")) {
    TileData d;
    d.group = tilesGroup.openGroup(name);
    c.tiles_.push_back(readGrid(d.group, name));
    d.reflectance = d.group.openDataset("reflectance");
    d.valid = d.group.openDataset("valid");
    c.data_.emplace(name, std::move(d));
  }
  return c;
}

int Cube::tileIndex(const std::string& name) const {
  for (size_t i = 0; i < tiles_.size(); ++i)
    if (tiles_[i].name == name) return static_cast<int>(i);
  throw h5::Error(path() + ": no tile " + name + " in the cube");
}

Cube::TileData& Cube::data(const std::string& tile) {
  auto it = data_.find(tile);
  if (it == data_.end()) throw h5::Error(path() + ": no tile " + tile + " in the cube");
  return it->second;
}

h5::Group Cube::tileGroup(const std::string& tile) const {
  tileIndex(tile);
  return root().openGroup("tiles").openGroup(tile);
}

void Cube::checkAligned(const std::string& tile, const Window& w, const std::string& what) const {
  const TileGrid& g = this->tile(tile);
  const int c = layout_.chunk;
  auto edgeOk = [c](int start, int count, int extent) {
    return start % c == 0 && (count % c == 0 || start + count == extent);
  };
  if (w.rows <= 0 || w.cols <= 0 || w.row0 < 0 || w.col0 < 0 || w.row0 + w.rows > g.height ||
      w.col0 + w.cols > g.width)
    throw h5::Error(path() + ": tile " + tile + ": " + what + ": window (" + std::to_string(w.row0) + "," +
                    std::to_string(w.col0) + ") " + std::to_string(w.rows) + "x" + std::to_string(w.cols) +
                    " is outside the " + std::to_string(g.height) + "x" + std::to_string(g.width) + " grid");
  if (!edgeOk(w.row0, w.rows, g.height) || !edgeOk(w.col0, w.cols, g.width))
    throw h5::Error(path() + ": tile " + tile + ": " + what + ": window (" + std::to_string(w.row0) + "," +
                    std::to_string(w.col0) + ") " + std::to_string(w.rows) + "x" + std::to_string(w.cols) +
                    " is not aligned on chunks of " + std::to_string(c) +
                    " pixels; two ranks could write into one chunk");
}

void Cube::writeReflectance(const std::string& tile, const Window& w, const std::uint16_t* d, h5::Transfer mode) {
  checkAligned(tile, w, "reflectance write");
  byChunks<std::uint16_t>(data(tile).reflectance, true,
                          {static_cast<hsize_t>(periods()), static_cast<hsize_t>(bands())}, w,
                          const_cast<std::uint16_t*>(d), mode);
}

void Cube::readReflectance(const std::string& tile, const Window& w, std::uint16_t* d, h5::Transfer mode) {
  byChunks<std::uint16_t>(data(tile).reflectance, false,
                          {static_cast<hsize_t>(periods()), static_cast<hsize_t>(bands())}, w, d, mode);
}

void Cube::writeValid(const std::string& tile, const Window& w, const std::uint8_t* d, h5::Transfer mode) {
  checkAligned(tile, w, "valid write");
  byChunks<std::uint8_t>(data(tile).valid, true, {static_cast<hsize_t>(periods())}, w, const_cast<std::uint8_t*>(d),
                         mode);
}

void Cube::readValid(const std::string& tile, const Window& w, std::uint8_t* d, h5::Transfer mode) {
  byChunks<std::uint8_t>(data(tile).valid, false, {static_cast<hsize_t>(periods())}, w, d, mode);
}

// ---------------------------------------------------------------------------
// Layers

void Cube::createLayerImpl(const std::string& name, hid_t type, const void* fill) {
  if (name == "reflectance" || name == "valid") throw h5::Error(path() + ": '" + name + "' is not a layer name");
  const hsize_t ch = static_cast<hsize_t>(layout_.chunk);
  for (const auto& t : tiles_) {
    TileData& d = data(t.name);
    d.layers.erase(name);
    if (d.group.exists(name)) d.group.unlink(name);
    d.layers.emplace(name, d.group.createDataset(name, h5::DatasetSpec{type,
                                                                       {static_cast<hsize_t>(t.height),
                                                                        static_cast<hsize_t>(t.width)},
                                                                       {ch, ch},
                                                                       fill,
                                                                       h5::FillTime::alloc}));
  }
  file_.flush();
}

bool Cube::hasLayer(const std::string& name) const {
  for (const auto& t : tiles_) {
    auto it = data_.find(t.name);
    if (it == data_.end() || !it->second.group.exists(name)) return false;
  }
  return !tiles_.empty();
}

h5::Dataset& Cube::layer(const std::string& tile, const std::string& name) {
  TileData& d = data(tile);
  auto it = d.layers.find(name);
  if (it == d.layers.end()) it = d.layers.emplace(name, d.group.openDataset(name)).first;
  return it->second;
}

// ---------------------------------------------------------------------------
// Ledger

void Cube::createLedger(const std::string& stage, const std::vector<WorkUnit>& units) {
  h5::Group root = file_.root();
  h5::Group ledger = root.openOrCreateGroup("ledger");
  ledgers_.erase(stage);
  if (ledger.exists(stage)) ledger.unlink(stage);
  h5::Group g = ledger.createGroup(stage);
  const hsize_t n = units.size();
  g.setAttr("tiles", [&] {
    std::vector<std::string> names;
    for (const auto& t : tiles_) names.push_back(t.name);
    return names;
  }());
  // Contiguous and filled with zeros at creation: marking a unit done is one
  // byte written in place, never a metadata change.
  h5::Dataset done = g.createDataset(
      "done", h5::DatasetSpec{h5::nativeType<std::uint8_t>(), {std::max<hsize_t>(n, 1)}, {}, nullptr,
                              h5::FillTime::alloc});
  h5::Dataset table = g.createDataset(
      "units", h5::DatasetSpec{h5::nativeType<std::int64_t>(), {std::max<hsize_t>(n, 1), 5}, {}, nullptr,
                               h5::FillTime::alloc});
  g.setAttr("count", static_cast<std::int64_t>(n));
  std::vector<std::int64_t> rows;
  rows.reserve(n * 5);
  for (const auto& u : units)
    rows.insert(rows.end(), {u.tile, u.row0, u.col0, u.rows, u.cols});
  // Every rank holds the same table; rank 0 writes it, the others take part
  // with an empty selection of the collective write.
  int rank = 0;
  MPI_Comm_rank(comm_, &rank);
  const bool writer = rank == 0 && n > 0;
  table.write<std::int64_t>({0, 0}, {writer ? n : 0, 5}, rows.data(), h5::Transfer::collective);
  file_.flush();
  ledgers_.emplace(stage, std::move(done));
}

bool Cube::hasLedger(const std::string& stage) const {
  h5::Group root = file_.root();
  return root.exists("ledger") && root.openGroup("ledger").exists(stage);
}

std::vector<WorkUnit> Cube::ledgerUnits(const std::string& stage) {
  h5::Group g = file_.root().openGroup("ledger").openGroup(stage);
  const auto n = static_cast<hsize_t>(g.attrInt("count"));
  std::vector<std::int64_t> rows(n * 5);
  if (n) g.openDataset("units").read<std::int64_t>({0, 0}, {n, 5}, rows.data());
  std::vector<WorkUnit> units(n);
  for (hsize_t i = 0; i < n; ++i) {
    const std::int64_t* r = &rows[i * 5];
    units[i] = WorkUnit{static_cast<std::int64_t>(i), static_cast<int>(r[0]), static_cast<int>(r[1]),
                        static_cast<int>(r[2]), static_cast<int>(r[3]), static_cast<int>(r[4]), 0.0};
  }
  return units;
}

std::vector<std::uint8_t> Cube::ledgerDone(const std::string& stage) {
  h5::Group g = file_.root().openGroup("ledger").openGroup(stage);
  const auto n = static_cast<hsize_t>(g.attrInt("count"));
  std::vector<std::uint8_t> done(n, 0);
  if (n) g.openDataset("done").read<std::uint8_t>({0}, {n}, done.data());
  return done;
}

void Cube::markDone(const std::string& stage, std::int64_t unit) {
  auto it = ledgers_.find(stage);
  if (it == ledgers_.end())
    it = ledgers_.emplace(stage, file_.root().openGroup("ledger").openGroup(stage).openDataset("done")).first;
  const std::uint8_t one = 1;
  it->second.write<std::uint8_t>({static_cast<hsize_t>(unit)}, {1}, &one, h5::Transfer::independent);
}

bool Cube::complete(const std::string& stage) {
  if (!hasLedger(stage)) return false;
  auto done = ledgerDone(stage);
  return std::all_of(done.begin(), done.end(), [](std::uint8_t d) { return d == 1; });
}

void Cube::close() {
  ledgers_.clear();
  data_.clear();
  file_.close();
}

}  // namespace cropmap
