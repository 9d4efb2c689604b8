#include "cube.hpp"

#include <gdal_priv.h>
#include <ogr_spatialref.h>

#include <algorithm>
#include <cstdio>
#include <cstring>

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

// Coordinate datasets a layer must not be named after.
bool reservedName(const std::string& n) {
  return n == "reflectance" || n == "valid" || n == "x" || n == "y" || n == "period" || n == "period_bounds" ||
         n == "bnds" || n == "band" || n == "band_offset" || n == "spatial_ref";
}

// Days from 1970-01-01 to a proleptic Gregorian date (eras of 400 years,
// March-based years so the leap day comes last).
double daysSinceEpoch(const std::string& iso, const std::string& where) {
  int y = 0, m = 0, d = 0;
  if (std::sscanf(iso.c_str(), "%d-%d-%d", &y, &m, &d) != 3 || m < 1 || m > 12 || d < 1 || d > 31)
    throw h5::Error(where + ": period date '" + iso + "' is not YYYY-MM-DD");
  y -= m <= 2;
  const long era = (y >= 0 ? y : y - 399) / 400;
  const long yoe = y - era * 400;
  const long doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const long doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return static_cast<double>(era * 146097 + doe - 719468);
}

// CF grid-mapping attributes for the projections of Sentinel-2 tiles (UTM,
// i.e. transverse Mercator); other projections keep crs_wkt only, which CF
// 1.8 readers and GDAL take as well.
void cfProjectionAttrs(h5::Dataset& gm, const std::string& wkt) {
  OGRSpatialReference srs;
  if (srs.importFromWkt(wkt.c_str()) != OGRERR_NONE || !srs.IsProjected()) return;
  const char* proj = srs.GetAttrValue("PROJECTION");
  if (!proj || std::strcmp(proj, SRS_PT_TRANSVERSE_MERCATOR) != 0) return;
  gm.setAttr("grid_mapping_name", "transverse_mercator");
  gm.setAttr("longitude_of_central_meridian", srs.GetNormProjParm(SRS_PP_CENTRAL_MERIDIAN, 0.0));
  gm.setAttr("latitude_of_projection_origin", srs.GetNormProjParm(SRS_PP_LATITUDE_OF_ORIGIN, 0.0));
  gm.setAttr("scale_factor_at_central_meridian", srs.GetNormProjParm(SRS_PP_SCALE_FACTOR, 1.0));
  gm.setAttr("false_easting", srs.GetNormProjParm(SRS_PP_FALSE_EASTING, 0.0));
  gm.setAttr("false_northing", srs.GetNormProjParm(SRS_PP_FALSE_NORTHING, 0.0));
}

}  // namespace

Cube::~Cube() = default;

// The coordinate variables of one tile group (collective: every rank creates
// the same objects; rank 0 writes their values).
void Cube::writeCfCoordinates(TileData& d, const TileGrid& t) {
  int rank = 0;
  MPI_Comm_rank(comm_, &rank);
  const bool writer = rank == 0;
  const auto& gt = t.geotransform;
  const hsize_t P = layout_.periods.size(), B = layout_.bands.size();
  const hsize_t H = static_cast<hsize_t>(t.height), W = static_cast<hsize_t>(t.width);
  const std::string where = d.group.where();

  std::vector<double> xs(W), ys(H);
  for (hsize_t i = 0; i < W; ++i) xs[i] = gt[0] + (static_cast<double>(i) + 0.5) * gt[1];
  for (hsize_t j = 0; j < H; ++j) ys[j] = gt[3] + (static_cast<double>(j) + 0.5) * gt[5];
  d.x = d.group.createDataset<double>("x", {W}, {}, 0.0);
  d.x.writeAll(H5T_NATIVE_DOUBLE, xs.data(), writer);
  d.y = d.group.createDataset<double>("y", {H}, {}, 0.0);
  d.y.writeAll(H5T_NATIVE_DOUBLE, ys.data(), writer);
  for (auto* c : {&d.x, &d.y}) {
    const bool isX = c == &d.x;
    c->makeDimensionScale(isX ? "x" : "y");
    c->setAttr("standard_name", isX ? "projection_x_coordinate" : "projection_y_coordinate");
    c->setAttr("long_name", isX ? "x coordinate of pixel centre" : "y coordinate of pixel centre");
    c->setAttr("units", "m");
    c->setAttr("axis", isX ? "X" : "Y");
  }

  // A dimension without a variable, in netCDF-4's own spelling of it.
  h5::Dataset bnds = d.group.createDataset<float>("bnds", {2}, {}, 0.0f);
  bnds.makeDimensionScale("This is a netCDF dimension but not a netCDF variable.         2");

  std::vector<double> starts(P), bounds(2 * P);
  for (hsize_t p = 0; p < P; ++p) {
    starts[p] = bounds[2 * p] = daysSinceEpoch(layout_.periods[p], where);
    bounds[2 * p + 1] = p < layout_.periodEnds.size() ? daysSinceEpoch(layout_.periodEnds[p], where) : starts[p];
  }
  h5::Dataset period = d.group.createDataset<double>("period", {P}, {}, 0.0);
  period.writeAll(H5T_NATIVE_DOUBLE, starts.data(), writer);
  period.makeDimensionScale("period");
  period.setAttr("standard_name", "time");
  period.setAttr("long_name", "start of the compositing period");
  period.setAttr("units", "days since 1970-01-01 00:00:00");
  period.setAttr("calendar", "proleptic_gregorian");
  period.setAttr("axis", "T");
  period.setAttr("bounds", "period_bounds");
  h5::Dataset periodBounds = d.group.createDataset<double>("period_bounds", {P, 2}, {}, 0.0);
  periodBounds.writeAll(H5T_NATIVE_DOUBLE, bounds.data(), writer);
  periodBounds.attachScale(period, 0);
  periodBounds.attachScale(bnds, 1);

  // Band names as fixed-length strings: parallel HDF5 writes no
  // variable-length data.
  size_t longest = 1;
  for (const auto& b : layout_.bands) longest = std::max(longest, b.size() + 1);
  h5::Handle strType(H5Tcopy(H5T_C_S1), H5Tclose);
  if (strType.id() < 0 || H5Tset_size(strType.id(), longest) < 0 || H5Tset_strpad(strType.id(), H5T_STR_NULLTERM) < 0)
    throw h5::Error(where + ": cannot make the band name type");
  std::vector<char> names(B * longest, '\0');
  for (hsize_t b = 0; b < B; ++b) std::memcpy(&names[b * longest], layout_.bands[b].data(), layout_.bands[b].size());
  h5::Dataset band = d.group.createDataset("band", h5::DatasetSpec{strType.id(), {B}, {}, nullptr, h5::FillTime::alloc});
  band.writeAll(strType.id(), names.data(), writer);
  band.makeDimensionScale("band");
  band.setAttr("long_name", "spectral band or index");
  // xarray decodes fixed-length byte strings to text when told their encoding.
  band.setAttr("_Encoding", "utf-8");
  h5::Dataset offsets = d.group.createDataset<double>("band_offset", {B}, {}, 0.0);
  offsets.writeAll(H5T_NATIVE_DOUBLE, layout_.bandOffsets.data(), writer);
  offsets.attachScale(band, 0);
  offsets.setAttr("long_name", "offset added to reflectance per band (spectral indices are stored shifted)");
  offsets.setAttr("units", "1");

  h5::Dataset gm = d.group.createDataset<std::int32_t>("spatial_ref", {}, {}, 0);
  gm.setAttr("crs_wkt", t.crsWkt);
  gm.setAttr("spatial_ref", t.crsWkt);
  char gtText[256];
  std::snprintf(gtText, sizeof gtText, "%.17g %.17g %.17g %.17g %.17g %.17g", gt[0], gt[1], gt[2], gt[3], gt[4], gt[5]);
  gm.setAttr("GeoTransform", gtText);
  cfProjectionAttrs(gm, t.crsWkt);

  d.reflectance.attachScale(period, 0);
  d.reflectance.attachScale(band, 1);
  d.reflectance.attachScale(d.y, 2);
  d.reflectance.attachScale(d.x, 3);
  d.reflectance.setTypedAttr<std::uint16_t>("_FillValue", {layout_.fillValue});
  d.reflectance.setAttr("units", "1");
  d.reflectance.setAttr("long_name", "composited surface reflectance (indices: plus band_offset)");
  d.reflectance.setAttr("grid_mapping", "spatial_ref");
  d.valid.attachScale(period, 0);
  d.valid.attachScale(d.y, 1);
  d.valid.attachScale(d.x, 2);
  d.valid.setAttr("long_name", "clear observations in the period (0: filled by interpolation)");
  d.valid.setAttr("units", "1");
  d.valid.setAttr("grid_mapping", "spatial_ref");
}

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
  root.setAttr("Conventions", "CF-1.8");
  root.setAttr("title", "cropmap composite cube");

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
    c.writeCfCoordinates(d, t);
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
    d.x = d.group.openDataset("x");
    d.y = d.group.openDataset("y");
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

void Cube::createLayerImpl(const std::string& name, hid_t type, const void* fill, const LayerAttrs& attrs) {
  if (reservedName(name)) throw h5::Error(path() + ": '" + name + "' is not a layer name");
  const hsize_t ch = static_cast<hsize_t>(layout_.chunk);
  for (const auto& t : tiles_) {
    TileData& d = data(t.name);
    d.layers.erase(name);
    if (d.group.exists(name)) {
      // Detached first, so the coordinates keep no reference to a deleted dataset.
      h5::Dataset old = d.group.openDataset(name);
      old.detachScale(d.y, 0);
      old.detachScale(d.x, 1);
      old = h5::Dataset();
      d.group.unlink(name);
    }
    h5::Dataset l = d.group.createDataset(
        name, h5::DatasetSpec{type, {static_cast<hsize_t>(t.height), static_cast<hsize_t>(t.width)}, {ch, ch}, fill,
                              h5::FillTime::alloc});
    l.attachScale(d.y, 0);
    l.attachScale(d.x, 1);
    l.setAttr("grid_mapping", "spatial_ref");
    if (!attrs.longName.empty()) l.setAttr("long_name", attrs.longName);
    if (!attrs.units.empty()) l.setAttr("units", attrs.units);
    if (!attrs.flagMeanings.empty()) l.setAttr("flag_meanings", attrs.flagMeanings);
    d.layers.emplace(name, std::move(l));
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
