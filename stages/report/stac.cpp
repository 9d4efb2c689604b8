#include "stac.hpp"

#include <gdal_priv.h>
#include <ogr_spatialref.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <stdexcept>

#include "pipeline/cube.hpp"
#include "pipeline/gdal_io.hpp"
#include "pipeline/json.hpp"
#include "pipeline/paths.hpp"
#include "stages/predict/map_writer.hpp"
#include "stages/predict/predict.hpp"

namespace cropmap::report {

namespace fs = std::filesystem;

namespace {

constexpr const char* kStacVersion = "1.0.0";
constexpr const char* kProj = "https://stac-extensions.github.io/projection/v1.1.0/schema.json";
constexpr const char* kClassification = "https://stac-extensions.github.io/classification/v1.1.0/schema.json";

struct Footprint {
  std::array<double, 4> bbox{};  // lon/lat: west, south, east, north
};

Footprint footprint(const TileGrid& g) {
  const auto& t = g.geotransform;
  const double x0 = t[0], x1 = t[0] + g.width * t[1], y0 = t[3] + g.height * t[5], y1 = t[3];
  auto srs = gdal::srsFromWkt(g.crsWkt);
  auto wgs = gdal::srsFromEpsg(4326);
  auto tr = gdal::makeTransform(*srs, *wgs, "tile " + g.name);
  return {gdal::transformBounds(*tr, {std::min(x0, x1), std::min(y0, y1), std::max(x0, x1), std::max(y0, y1)},
                                "tile " + g.name)};
}

std::string bboxJson(const std::array<double, 4>& b) { return json::list(std::vector<double>(b.begin(), b.end())); }

std::string polygonJson(const std::array<double, 4>& b) {
  char buf[512];
  std::snprintf(buf, sizeof buf,
                "{\"type\": \"Polygon\", \"coordinates\": [[[%.9f, %.9f], [%.9f, %.9f], [%.9f, %.9f], [%.9f, %.9f], "
                "[%.9f, %.9f]]]}",
                b[0], b[1], b[2], b[1], b[2], b[3], b[0], b[3], b[0], b[1]);
  return buf;
}

std::string asset(const std::string& href, const std::string& type, const std::string& title,
                  const std::vector<std::string>& roles, const std::string& extra = "") {
  json::Object a;
  a.field("href", href).field("type", type).field("title", title).raw("roles", json::list(roles));
  std::string text = a.text();
  if (!extra.empty()) text = text.substr(0, text.size() - 1) + ", " + extra + "}";
  return text;
}

std::string relative(const std::string& target, const std::string& fromDir) {
  return fs::relative(fs::absolute(target), fs::absolute(fromDir)).generic_string();
}

// classification:classes of a map's class band: value, name, description and
// colour from the band's category names and colour table.
std::string classesJson(GDALRasterBand* band) {
  std::string out = "[";
  const auto names = mapping::classNamesOf(band);
  const GDALColorTable* ct = band->GetColorTable();
  for (int i = 0; i < static_cast<int>(names.size()); ++i) {
    if (names[static_cast<size_t>(i)].empty()) continue;
    json::Object c;
    c.field("value", i).field("name", names[static_cast<size_t>(i)]).field("description", names[static_cast<size_t>(i)]);
    if (ct && i < ct->GetColorEntryCount()) {
      const GDALColorEntry* e = ct->GetColorEntry(i);
      char hex[8];
      std::snprintf(hex, sizeof hex, "%02X%02X%02X", e->c1, e->c2, e->c3);
      c.field("color_hint", std::string(hex));
    }
    out += (out.size() > 1 ? ", " : "") + c.text();
  }
  return out + "]";
}

std::string projFields(const TileGrid& g) {
  std::vector<double> transform{g.geotransform[1], g.geotransform[2], g.geotransform[0],
                                g.geotransform[4], g.geotransform[5], g.geotransform[3]};
  json::Object o;
  if (g.epsg > 0) o.field("proj:epsg", g.epsg);
  else o.raw("proj:epsg", "null");
  o.field("proj:wkt2", gdal::wktOf(*gdal::srsFromWkt(g.crsWkt)))
      .raw("proj:shape", json::list(std::vector<int>{g.height, g.width}))
      .raw("proj:transform", json::list(transform));
  const std::string t = o.text();
  return t.substr(1, t.size() - 2);  // the fields, to splice into properties
}

std::string itemJson(const std::string& id, const std::string& collection, const Footprint& fp,
                     const std::string& properties, const std::string& assets) {
  return json::object({{"type", json::str("Feature")},
                       {"stac_version", json::str(kStacVersion)},
                       {"stac_extensions", json::list(std::vector<std::string>{kProj, kClassification})},
                       {"id", json::str(id)},
                       {"collection", json::str(collection)},
                       {"geometry", polygonJson(fp.bbox)},
                       {"bbox", bboxJson(fp.bbox)},
                       {"properties", properties},
                       {"links", "[{\"rel\": \"collection\", \"href\": \"../collection.json\", \"type\": "
                                 "\"application/json\"}, {\"rel\": \"parent\", \"href\": \"../collection.json\", "
                                 "\"type\": \"application/json\"}, {\"rel\": \"root\", \"href\": "
                                 "\"../collection.json\", \"type\": \"application/json\"}]"},
                       {"assets", assets}}) +
         "\n";
}

}  // namespace

StacFiles writeStac(const Config& cfg) {
  const std::string dir = (fs::path(cfg.run.output) / "stac").string();
  const std::string itemsDir = (fs::path(dir) / "items").string();
  const std::string cube = cubePath(cfg);
  if (!fs::exists(cube)) throw std::runtime_error(cube + ": no cube; STAC needs at least the composite");
  Cube c = Cube::open(cube, MPI_COMM_SELF, false);
  const auto& layout = c.layout();
  const std::vector<TileGrid> tiles = c.tiles();
  c.close();
  const std::string start = layout.periods.front() + "T00:00:00Z";
  const std::string end = (layout.periodEnds.empty() ? layout.periods.back() : layout.periodEnds.back()) + "T00:00:00Z";
  const std::string collectionId = "cropmap-" + cfg.run.name;
  const std::string timeProps = "\"datetime\": null, \"start_datetime\": " + json::str(start) +
                                ", \"end_datetime\": " + json::str(end);
  fs::create_directories(itemsDir);
  StacFiles out;
  out.collection = (fs::path(dir) / "collection.json").string();

  std::array<double, 4> all{1e9, 1e9, -1e9, -1e9};
  auto grow = [&](const Footprint& f) {
    all[0] = std::min(all[0], f.bbox[0]);
    all[1] = std::min(all[1], f.bbox[1]);
    all[2] = std::max(all[2], f.bbox[2]);
    all[3] = std::max(all[3], f.bbox[3]);
  };
  std::string classSummary;
  const std::string maps = mapping::PredictPaths::fromConfig(cfg).maps();
  for (const auto& g : tiles) {
    const Footprint fp = footprint(g);
    grow(fp);
    const std::string map = (fs::path(maps) / (g.name + ".tif")).string();
    if (!fs::exists(map)) continue;
    auto ds = gdal::openRaster(map);
    const std::string classes = classesJson(ds->GetRasterBand(1));
    if (classSummary.empty()) classSummary = classes;
    std::vector<std::pair<std::string, std::string>> assets;
    assets.push_back({"map", asset(relative(map, itemsDir), "image/tiff; application=geotiff; profile=cloud-optimized",
                                   "crop map: band 1 class, band 2 confidence x 255" +
                                       std::string(ds->GetRasterCount() > 2 ? ", band 3 stopping period" : ""),
                                   {"data"}, "\"classification:classes\": " + classes)});
    const std::string qml = mapping::qmlPath(map);
    if (fs::exists(qml))
      assets.push_back({"style", asset(relative(qml, itemsDir), "application/xml", "QGIS style (paletted, legend)",
                                       {"style", "metadata"})});
    const std::string clear = mapping::clearPath(maps, g.name);
    if (fs::exists(clear))
      assets.push_back({"clear_observations",
                        asset(relative(clear, itemsDir), "image/tiff; application=geotiff; profile=cloud-optimized",
                              "clear observations per pixel, summed over the periods", {"data", "quality"})});
    const std::string png = (fs::path(maps) / (g.name + ".png")).string();
    if (fs::exists(png))
      assets.push_back({"thumbnail", asset(relative(png, itemsDir), "image/png", "quick-look", {"thumbnail"})});
    const std::string id = cfg.run.name + "-map-" + g.name;
    const std::string props = "{" + timeProps + ", \"title\": " + json::str("crop map of tile " + g.name) + ", " +
                              projFields(g) + "}";
    const std::string path = (fs::path(itemsDir) / (id + ".json")).string();
    writeTextAtomically(path, itemJson(id, collectionId, fp, props, json::object(assets)));
    out.items.push_back(path);
  }

  // The cube: one file for every tile; proj: fields at item level when the
  // tiles share a CRS, otherwise per tile in cropmap:tiles.
  {
    Footprint fp{all};
    const bool oneCrs = std::all_of(tiles.begin(), tiles.end(), [&](const TileGrid& t) { return t.epsg == tiles[0].epsg; });
    std::string tileList = "[";
    for (const auto& g : tiles)
      tileList += (tileList.size() > 1 ? ", " : "") + std::string("{\"name\": ") + json::str(g.name) + ", " +
                  projFields(g) + "}";
    tileList += "]";
    std::string props = "{" + timeProps + ", \"title\": " + json::str("composite cube (" + std::to_string(tiles.size()) +
                                                                     " tiles)");
    if (oneCrs && !tiles.empty()) props += ", \"proj:epsg\": " + json::num(tiles[0].epsg);
    props += ", \"cropmap:periods\": " + json::list(layout.periods) + ", \"cropmap:bands\": " + json::list(layout.bands) +
             ", \"cropmap:tiles\": " + tileList + "}";
    const std::string assets = json::object(
        {{"cube", asset(relative(cube, itemsDir), "application/x-hdf5",
                        "netCDF-4/HDF5 cube, one group per tile (tiles/<T>): reflectance(period, band, y, x), valid, "
                        "labels",
                        {"data"})}});
    const std::string id = cfg.run.name + "-cube";
    const std::string path = (fs::path(itemsDir) / (id + ".json")).string();
    writeTextAtomically(path, itemJson(id, collectionId, fp, props, assets));
    out.items.push_back(path);
  }

  std::string links = "[{\"rel\": \"root\", \"href\": \"./collection.json\", \"type\": \"application/json\"}";
  for (const auto& item : out.items)
    links += ", {\"rel\": \"item\", \"href\": " + json::str("./items/" + fs::path(item).filename().string()) +
             ", \"type\": \"application/geo+json\"}";
  links += "]";
  std::vector<std::pair<std::string, std::string>> fields = {
      {"type", json::str("Collection")},
      {"stac_version", json::str(kStacVersion)},
      {"stac_extensions", json::list(std::vector<std::string>{kProj, kClassification})},
      {"id", json::str(collectionId)},
      {"title", json::str("cropmap run " + cfg.run.name)},
      {"description", json::str("Crop-type maps and the Sentinel-2 composite cube of the cropmap run '" + cfg.run.name +
                                "'")},
      {"license", json::str("proprietary")},
      {"extent", "{\"spatial\": {\"bbox\": [" + bboxJson(all) + "]}, \"temporal\": {\"interval\": [[" +
                     json::str(start) + ", " + json::str(end) + "]]}}"},
      {"links", links}};
  if (!classSummary.empty()) fields.push_back({"summaries", "{\"classification:classes\": " + classSummary + "}"});
  writeTextAtomically(out.collection, json::object(fields) + "\n");
  return out;
}

}  // namespace cropmap::report
