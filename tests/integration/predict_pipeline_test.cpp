// `cropmap predict` at the end of the real pipeline (synth, composite,
// labels, split, sample, train, evaluate) on a small synthetic tile, through
// the binary under mpiexec:
//  - the map's accuracy on the test split, recomputed here from the map file
//    and the cube's label and split layers, equals `evaluate`'s pixel OA;
//  - maps are georeferenced exactly on the cube's tile grid;
//  - maps and parcel results are identical at 1, 2 and 4 ranks;
//  - every parcel's class, pixel count and share in parcels.gpkg match the
//    majority recomputed from the map and the cube's parcel layer;
//  - a job killed during predict leaves no file under a final name, and
//    `--resume` skips the units already written and gives the same map.
#include <gdal_priv.h>
#include <gtest/gtest.h>
#include <hdf5.h>
#include <ogr_spatialref.h>
#include <ogrsf_frmts.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <map>
#include <sstream>
#include <thread>

#include "pipeline/json.hpp"
#include "tests/support/test_support.hpp"

using namespace cropmap::test;
namespace fs = std::filesystem;

namespace {

const std::string kTile = "33UVP";

std::string dir() { return std::string(CROPMAP_TEST_TMP) + "/predict_pipeline"; }
std::string config() { return dir() + "/config.yaml"; }
std::string mapPath() { return dir() + "/maps/" + kTile + ".tif"; }

double jsonNumber(const std::string& text, const std::string& key, size_t from = 0) {
  const auto at = text.find("\"" + key + "\": ", from);
  if (at == std::string::npos) throw std::runtime_error("no " + key + " in " + text.substr(0, 300));
  return std::strtod(text.c_str() + at + key.size() + 4, nullptr);
}

class H5 {
 public:
  explicit H5(const std::string& file) : f_(H5Fopen(file.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT)) {}
  ~H5() {
    if (f_ >= 0) H5Fclose(f_);
  }
  template <class T>
  std::vector<T> dataset(const std::string& path, hid_t type) const {
    hid_t d = H5Dopen2(f_, path.c_str(), H5P_DEFAULT);
    EXPECT_GE(d, 0) << path;
    hid_t s = H5Dget_space(d);
    std::vector<T> v(static_cast<size_t>(H5Sget_simple_extent_npoints(s)));
    EXPECT_GE(H5Dread(d, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, v.data()), 0) << path;
    H5Sclose(s);
    H5Dclose(d);
    return v;
  }
  std::vector<double> doubles(const std::string& object, const std::string& attr) const {
    hid_t a = H5Aopen_by_name(f_, object.c_str(), attr.c_str(), H5P_DEFAULT, H5P_DEFAULT);
    EXPECT_GE(a, 0) << object << "@" << attr;
    hid_t s = H5Aget_space(a);
    std::vector<double> v(static_cast<size_t>(H5Sget_simple_extent_npoints(s)));
    EXPECT_GE(H5Aread(a, H5T_NATIVE_DOUBLE, v.data()), 0);
    H5Sclose(s);
    H5Aclose(a);
    return v;
  }
  std::string string(const std::string& object, const std::string& attr) const {
    hid_t a = H5Aopen_by_name(f_, object.c_str(), attr.c_str(), H5P_DEFAULT, H5P_DEFAULT);
    EXPECT_GE(a, 0) << object << "@" << attr;
    hid_t t = H5Aget_type(a);
    std::string out;
    if (H5Tis_variable_str(t) > 0) {
      char* p = nullptr;
      EXPECT_GE(H5Aread(a, t, &p), 0);
      out = p ? p : "";
      H5free_memory(p);
    } else {
      std::vector<char> buf(H5Tget_size(t) + 1, 0);
      EXPECT_GE(H5Aread(a, t, buf.data()), 0);
      out = buf.data();
    }
    H5Tclose(t);
    H5Aclose(a);
    return out;
  }

 private:
  hid_t f_;
};

std::vector<std::uint8_t> readBand(const std::string& path, int band, int* width = nullptr) {
  GDALAllRegister();
  GDALDatasetUniquePtr ds(GDALDataset::Open(path.c_str(), GDAL_OF_RASTER | GDAL_OF_READONLY));
  EXPECT_TRUE(ds) << path;
  if (!ds) return {};
  const int w = ds->GetRasterXSize(), h = ds->GetRasterYSize();
  if (width) *width = w;
  std::vector<std::uint8_t> v(static_cast<size_t>(w) * static_cast<size_t>(h));
  EXPECT_EQ(ds->GetRasterBand(band)->RasterIO(GF_Read, 0, 0, w, h, v.data(), w, h, GDT_Byte, 0, 0, nullptr), CE_None);
  return v;
}

struct ParcelRow {
  int cls = -1;
  std::int64_t pixels = 0;
  double share = 0, conf = 0;
  std::string source;  // pred_source
};

std::map<std::int64_t, ParcelRow> readParcels(const std::string& path) {
  GDALAllRegister();
  std::map<std::int64_t, ParcelRow> out;
  GDALDatasetUniquePtr ds(GDALDataset::Open(path.c_str(), GDAL_OF_VECTOR | GDAL_OF_READONLY));
  EXPECT_TRUE(ds) << path;
  if (!ds) return out;
  OGRLayer* l = ds->GetLayer(0);
  for (auto& f : *l) {
    ParcelRow r{f->GetFieldAsInteger("pred_class"), f->GetFieldAsInteger64("pred_pixels"),
                f->GetFieldAsDouble("pred_share"), f->GetFieldAsDouble("pred_conf"), f->GetFieldAsString("pred_source")};
    EXPECT_NE(f->GetGeometryRef(), nullptr);
    out[f->GetFieldAsInteger64("GEO_ID")] = r;
  }
  return out;
}

std::vector<std::string> finalOutputs() {
  std::vector<std::string> out;
  if (fs::exists(dir() + "/maps"))
    for (const auto& e : fs::directory_iterator(dir() + "/maps")) {
      const std::string name = e.path().filename().string();
      if (name.rfind(".tmp-", 0) == 0 || e.is_directory()) continue;
      const auto ext = e.path().extension().string();
      if (ext == ".tif" || ext == ".png") out.push_back(e.path().string());
    }
  if (fs::exists(dir() + "/parcels.gpkg")) out.push_back(dir() + "/parcels.gpkg");
  if (fs::exists(dir() + "/predict_summary.json")) out.push_back(dir() + "/predict_summary.json");
  return out;
}

size_t countParts() {
  size_t n = 0;
  const std::string parts = dir() + "/maps/.parts/" + kTile;
  if (!fs::exists(parts)) return 0;
  for (const auto& e : fs::directory_iterator(parts))
    if (e.path().extension() == ".tif" && e.path().filename().string().rfind(".tmp-", 0) != 0) ++n;
  return n;
}

class PredictPipeline : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    fs::remove_all(dir());
    fs::create_directories(dir());
    writeFile(config(),
              "run: {name: predict, output: " + dir() + ", seed: 5}\n"
              "compute: {threads: 1}\n"
              "synth: {enabled: true, output: synth, tiles: [" + kTile + "], size: 128, year: 2022, layout: geotiff,\n"
              "        register_style: invekos, cloud_cover: 0.2, regions: 2, zones_per_region: 3}\n"
              "inputs: {geotiff: [" + dir() + "/synth/geotiff], bands: [B04, B08]}\n"
              "composite: {period: month, year: 2022, indices: [NDVI], block_size: 32, chunk: 32}\n"
              "labels: {parcels: " + dir() + "/synth/parcels.gpkg, code_field: SNAR_CODE, id_field: GEO_ID,\n"
              "         legend: " + sourcePath("configs/legends/austria.yaml") + ", erosion_px: 1}\n"
              "split: {mode: region_holdout, zones: " + dir() + "/synth/zones.gpkg, holdout: 1, val_fraction: 0.3, buffer_m: 0}\n"
              "sample: {level: pixel, train_size: 4000, min_per_class: 100, eval_size: 0}\n"
              "train: {model: lstm, hidden: [48], epochs: 4, batch_size: 128, patience: 0}\n"
              "predict: {batch_size: 256, quicklook_size: 64}\n");
    for (const char* stage :
         {"synth", "composite", "labels", "split", "sample", "train", "evaluate", "predict", "report"}) {
      const auto r = runCropmapMpi(2, std::string(stage) + " --config " + config());
      ASSERT_EQ(r.exitCode, 0) << stage << "\n" << r.output;
      if (std::string(stage) == "predict" || std::string(stage) == "report") predictOutput_ += r.output;
    }
    fs::create_directories(dir() + "/np2");
    fs::copy_file(mapPath(), dir() + "/np2/map.tif", fs::copy_options::overwrite_existing);
    fs::copy_file(dir() + "/parcels.gpkg", dir() + "/np2/parcels.gpkg", fs::copy_options::overwrite_existing);
  }
  static std::string predictOutput_;
};
std::string PredictPipeline::predictOutput_;

}  // namespace

TEST_F(PredictPipeline, MapAccuracyOnTestSplitEqualsEvaluate) {
  if (HasFatalFailure()) return;
  const H5 cube(dir() + "/cube.h5");
  const auto label = cube.dataset<std::int16_t>("/tiles/" + kTile + "/label", H5T_NATIVE_INT16);
  const auto split = cube.dataset<std::uint8_t>("/tiles/" + kTile + "/split", H5T_NATIVE_UINT8);
  const auto cls = readBand(mapPath(), 1);
  ASSERT_EQ(cls.size(), label.size());
  std::int64_t n = 0, right = 0, noData = 0;
  for (size_t i = 0; i < cls.size(); ++i) {
    if (split[i] != 3 || label[i] < 0) continue;
    if (cls[i] == 255) {
      ++noData;
      continue;
    }
    ++n;
    right += cls[i] == label[i];
  }
  ASSERT_GT(n, 500) << "too few test pixels to compare";
  EXPECT_EQ(noData, 0);
  const double mapOa = static_cast<double>(right) / static_cast<double>(n);
  const std::string report = readFile(dir() + "/train/report.json");
  const double evalOa = jsonNumber(report, "overall_accuracy");
  EXPECT_EQ(jsonNumber(report, "samples"), static_cast<double>(n)) << "evaluate saw other test pixels";
  EXPECT_NEAR(mapOa, evalOa, 1e-12) << right << " of " << n;
  EXPECT_GT(mapOa, 0.5) << "the model learnt little; the comparison would prove little";
  const std::string summary = readFile(dir() + "/predict_summary.json");
  EXPECT_NEAR(jsonNumber(summary, "overall_accuracy"), evalOa, 1e-12);
  EXPECT_NE(predictOutput_.find("map accuracy on the test split"), std::string::npos) << predictOutput_;
}

TEST_F(PredictPipeline, MapSitsOnTheCubeGrid) {
  if (HasFatalFailure()) return;
  const H5 cube(dir() + "/cube.h5");
  const auto gt = cube.doubles("/tiles/" + kTile, "geotransform");
  const std::string wkt = cube.string("/tiles/" + kTile, "crs_wkt");
  GDALAllRegister();
  GDALDatasetUniquePtr ds(GDALDataset::Open(mapPath().c_str(), GDAL_OF_RASTER | GDAL_OF_READONLY));
  ASSERT_TRUE(ds);
  double mgt[6];
  ASSERT_EQ(ds->GetGeoTransform(mgt), CE_None);
  for (int i = 0; i < 6; ++i) EXPECT_EQ(mgt[i], gt[static_cast<size_t>(i)]) << "geotransform[" << i << "]";
  OGRSpatialReference cubeSrs;
  ASSERT_EQ(cubeSrs.importFromWkt(wkt.c_str()), OGRERR_NONE);
  EXPECT_TRUE(ds->GetSpatialRef()->IsSame(&cubeSrs));
  EXPECT_EQ(ds->GetRasterXSize(), 128);
  EXPECT_STREQ(ds->GetMetadataItem("LAYOUT", "IMAGE_STRUCTURE"), "COG");
  EXPECT_NE(ds->GetRasterBand(1)->GetColorTable(), nullptr);
  EXPECT_TRUE(fs::exists(dir() + "/maps/" + kTile + ".png"));
}

TEST_F(PredictPipeline, MapsAreValidCogsWithQgisStyleAndClearLayer) {
  if (HasFatalFailure()) return;
  const std::string clear = dir() + "/maps/" + kTile + "_clear.tif";
  for (const auto& m : {mapPath(), clear}) {
    const auto v = validateCog(m);
    EXPECT_EQ(v.exitCode, 0) << m << ": " << v.output;
  }
  const std::string qml = readFile(dir() + "/maps/" + kTile + ".qml");
  EXPECT_NE(qml.find("type=\"paletted\""), std::string::npos);
  GDALAllRegister();
  {
    // Every class the map names is in the style, under the same value.
    GDALDatasetUniquePtr map(GDALDataset::Open(mapPath().c_str(), GDAL_OF_RASTER | GDAL_OF_READONLY));
    ASSERT_TRUE(map);
    const char* item = map->GetRasterBand(1)->GetMetadataItem("CLASS_NAMES");
    ASSERT_NE(item, nullptr);
    std::vector<std::string> names;
    std::stringstream ss(item);
    for (std::string n; std::getline(ss, n, ';');) names.push_back(n);
    ASSERT_GT(names.size(), 1u);
    for (size_t k = 0; k < names.size(); ++k)
      EXPECT_NE(qml.find("value=\"" + std::to_string(k) + "\" color=\"#"), std::string::npos) << k;
    EXPECT_NE(qml.find("label=\"" + names[0] + "\""), std::string::npos) << qml;
  }

  // The clear layer is the cube's valid dataset summed over the periods.
  const H5 cube(dir() + "/cube.h5");
  const auto valid = cube.dataset<std::uint8_t>("/tiles/" + kTile + "/valid", H5T_NATIVE_UINT8);
  GDALDatasetUniquePtr ds(GDALDataset::Open(clear.c_str(), GDAL_OF_RASTER | GDAL_OF_READONLY));
  ASSERT_TRUE(ds);
  const int w = ds->GetRasterXSize(), h = ds->GetRasterYSize();
  const size_t n = static_cast<size_t>(w) * static_cast<size_t>(h);
  ASSERT_EQ(valid.size() % n, 0u);
  const size_t periods = valid.size() / n;
  std::vector<std::uint16_t> sum(n);
  ASSERT_EQ(ds->GetRasterBand(1)->RasterIO(GF_Read, 0, 0, w, h, sum.data(), w, h, GDT_UInt16, 0, 0, nullptr), CE_None);
  std::int64_t mismatches = 0, total = 0;
  for (size_t i = 0; i < n; ++i) {
    std::uint32_t s = 0;
    for (size_t p = 0; p < periods; ++p) s += valid[p * n + i];
    mismatches += s != sum[i];
    total += sum[i];
  }
  EXPECT_EQ(mismatches, 0);
  EXPECT_GT(total, static_cast<std::int64_t>(n)) << "cloud cover 0.2 leaves several clear looks per pixel";
  EXPECT_LT(total, static_cast<std::int64_t>(n * periods * 31)) << "more clear looks than days";
}

// STAC 1.0.0 shapes: the fields the Item and Collection schemas require, the
// projection extension's fields and the classification extension's classes.
TEST_F(PredictPipeline, StacItemsAndCollectionCarryTheRequiredFields) {
  if (HasFatalFailure()) return;
  using cropmap::json::Value;
  const Value col = cropmap::json::parseFile(dir() + "/stac/collection.json");
  EXPECT_EQ(col.at("type").string(), "Collection");
  EXPECT_EQ(col.at("stac_version").string(), "1.0.0");
  for (const char* key : {"id", "description", "license"}) EXPECT_TRUE(col.at(key).isString()) << key;
  ASSERT_EQ(col.at("extent").at("spatial").at("bbox").array().at(0).array().size(), 4u);
  const auto& interval = col.at("extent").at("temporal").at("interval").array().at(0).array();
  EXPECT_EQ(interval.at(0).string(), "2022-01-01T00:00:00Z");
  std::vector<std::string> items;
  for (const auto& l : col.at("links").array())
    if (l.at("rel").string() == "item") items.push_back(dir() + "/stac/" + l.at("href").string());
  ASSERT_EQ(items.size(), 2u);  // the map of the one tile and the cube
  int maps = 0;
  for (const auto& path : items) {
    const Value item = cropmap::json::parseFile(path);
    SCOPED_TRACE(path);
    EXPECT_EQ(item.at("type").string(), "Feature");
    EXPECT_EQ(item.at("stac_version").string(), "1.0.0");
    EXPECT_EQ(item.at("collection").string(), col.at("id").string());
    EXPECT_EQ(item.at("geometry").at("type").string(), "Polygon");
    const auto& bbox = item.at("bbox").array();
    ASSERT_EQ(bbox.size(), 4u);
    // The tile lies in Austria's UTM zone 33: longitudes 12..18, latitudes 46..49.
    EXPECT_GT(bbox[0].number(), 12.0);
    EXPECT_LT(bbox[2].number(), 18.0);
    EXPECT_GT(bbox[1].number(), 46.0);
    EXPECT_LT(bbox[3].number(), 49.5);
    const Value& props = item.at("properties");
    EXPECT_TRUE(props.at("datetime").isNull());
    EXPECT_TRUE(props.at("start_datetime").isString());
    EXPECT_TRUE(props.at("end_datetime").isString());
    EXPECT_EQ(props.at("proj:epsg").number(), 32633);
    for (const auto& [name, a] : item.at("assets").members()) {
      EXPECT_TRUE(fs::exists(fs::path(path).parent_path() / a.at("href").string())) << name;
      EXPECT_FALSE(a.at("roles").array().empty()) << name;
    }
    if (!item.at("assets").has("map")) continue;
    ++maps;
    EXPECT_EQ(props.at("proj:shape").array().at(0).number(), 128);
    EXPECT_EQ(props.at("proj:transform").array().size(), 6u);
    const Value& map = item.at("assets").at("map");
    EXPECT_EQ(map.at("roles").array().at(0).string(), "data");
    const auto& classes = map.at("classification:classes").array();
    ASSERT_GT(classes.size(), 1u);
    EXPECT_EQ(classes[0].at("value").number(), 0);
    EXPECT_TRUE(classes[0].at("name").isString());
    EXPECT_EQ(classes[0].at("color_hint").string().size(), 6u);
    for (const char* a : {"style", "clear_observations", "thumbnail"}) EXPECT_TRUE(item.at("assets").has(a)) << a;
  }
  EXPECT_EQ(maps, 1);
}

// The page holds every section its sources allow, and nothing loads from
// the network.
TEST_F(PredictPipeline, ReportPageIsSelfContained) {
  if (HasFatalFailure()) return;
  const std::string html = readFile(dir() + "/report/index.html");
  for (const char* want : {"<h2>Configuration</h2>", "<h2>Crop maps</h2>", "data:image/png;base64,",
                           "<h2>Accuracy on the test split</h2>", "producer", "aria-label=\"confusion matrix\"",
                           "<h2>Learning curves</h2>", "aria-label=\"loss per epoch\"",
                           "<h2>Clear-sky observations per tile and period</h2>",
                           "<svg class=\"swatch\""})
    EXPECT_NE(html.find(want), std::string::npos) << want;
  for (const char* banned : {"http://", "https://", "<script", "<link"}) {
    // The SVG namespace is an identifier, not a request.
    std::string rest = html;
    for (size_t at; (at = rest.find("http://www.w3.org/2000/svg")) != std::string::npos;) rest.erase(at, 26);
    EXPECT_EQ(rest.find(banned), std::string::npos) << banned;
  }
  EXPECT_NE(predictOutput_.find("report"), std::string::npos);
}

TEST_F(PredictPipeline, ParcelFileHoldsTheMapMajority) {
  if (HasFatalFailure()) return;
  const H5 cube(dir() + "/cube.h5");
  const auto parcel = cube.dataset<std::int64_t>("/tiles/" + kTile + "/parcel", H5T_NATIVE_INT64);
  const auto cls = readBand(mapPath(), 1), conf = readBand(mapPath(), 2);
  std::map<std::int64_t, std::vector<std::int64_t>> votes;
  std::map<std::int64_t, double> confSum;
  for (size_t i = 0; i < cls.size(); ++i) {
    if (parcel[i] == 0 || cls[i] == 255) continue;
    auto& v = votes[parcel[i]];
    v.resize(256, 0);
    v[cls[i]] += 1;
    confSum[parcel[i]] += conf[i];
  }
  const auto rows = readParcels(dir() + "/parcels.gpkg");
  ASSERT_GT(rows.size(), 10u);
  // Every parcel of the register is on the tile, so every one is in the file;
  // those with labelled pixels carry their own majority.
  {
    GDALDatasetUniquePtr reg(GDALDataset::Open((dir() + "/synth/parcels.gpkg").c_str(), GDAL_OF_VECTOR | GDAL_OF_READONLY));
    ASSERT_TRUE(reg);
    EXPECT_EQ(static_cast<std::int64_t>(rows.size()), reg->GetLayer(0)->GetFeatureCount());
  }
  std::size_t fromPixels = 0, touched = 0;
  for (const auto& [id, r] : rows) {
    fromPixels += r.source == "pixels";
    touched += r.source == "touched";
    if (r.source == "touched") EXPECT_GT(r.pixels, 0) << "parcel " << id;
  }
  EXPECT_EQ(fromPixels, votes.size());
  EXPECT_GT(touched, 0u) << "eroded-away and ignored parcels take the class of the pixels they touch";
  for (const auto& [id, v] : votes) {
    auto it = rows.find(id);
    ASSERT_NE(it, rows.end()) << "parcel " << id;
    std::int64_t total = 0;
    for (auto c : v) total += c;
    const int majority = static_cast<int>(std::max_element(v.begin(), v.end()) - v.begin());
    EXPECT_EQ(it->second.cls, majority) << "parcel " << id;
    EXPECT_EQ(it->second.pixels, total) << "parcel " << id;
    EXPECT_NEAR(it->second.share, static_cast<double>(v[static_cast<size_t>(majority)]) / total, 1e-12);
    EXPECT_NEAR(it->second.conf, confSum[id] / 255.0 / total, 1e-9);
  }
}

TEST_F(PredictPipeline, IdenticalMapsAndParcelsAtOneTwoAndFourRanks) {
  if (HasFatalFailure()) return;
  const auto ref = readBand(dir() + "/np2/map.tif", 1), refConf = readBand(dir() + "/np2/map.tif", 2);
  const auto refParcels = readParcels(dir() + "/np2/parcels.gpkg");
  for (int n : {1, 4}) {
    const auto r = runCropmapMpi(n, "predict --config " + config() + " --set compute.scheduler=" +
                                        (n == 1 ? "static" : "dynamic"));
    ASSERT_EQ(r.exitCode, 0) << r.output;
    EXPECT_EQ(readBand(mapPath(), 1), ref) << n << " ranks";
    EXPECT_EQ(readBand(mapPath(), 2), refConf) << n << " ranks";
    const auto p = readParcels(dir() + "/parcels.gpkg");
    ASSERT_EQ(p.size(), refParcels.size());
    for (const auto& [id, row] : refParcels) {
      EXPECT_EQ(p.at(id).cls, row.cls);
      EXPECT_EQ(p.at(id).pixels, row.pixels);
      EXPECT_EQ(p.at(id).conf, row.conf);
    }
  }
}

TEST_F(PredictPipeline, KillDuringPredictThenResume) {
  if (HasFatalFailure()) return;
  const auto ref = readBand(dir() + "/np2/map.tif", 1), refConf = readBand(dir() + "/np2/map.tif", 2);
  // A fresh run (no --resume) first removes the previous outputs; kill all
  // its processes with SIGKILL once some, not all, units are written.
  const std::string cmd = std::string(CROPMAP_MPIEXEC) + " -n 2 " + CROPMAP_EXE + " predict --config " + config() +
                          " --set predict.batch_size=64 --log-level warn";
  const pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    setsid();
    execl("/bin/sh", "sh", "-c", cmd.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  size_t parts = 0;
  while (std::chrono::steady_clock::now() < deadline) {
    parts = countParts();
    if (parts >= 2) break;
    int status = 0;
    if (waitpid(pid, &status, WNOHANG) == pid) FAIL() << "predict finished before it could be killed";
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  signalSession(pid, SIGKILL);
  int status = 0;
  waitpid(pid, &status, 0);
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  signalSession(pid, SIGKILL);  // anything forked while the first sweep ran
  ASSERT_GE(parts, 2u) << "no parts appeared in time";
  // Nothing may still be writing (a surviving rank would).
  const size_t afterKill = countParts();
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));
  EXPECT_EQ(countParts(), afterKill) << "a rank survived the kill";
  EXPECT_LT(afterKill, 16u) << "the job had finished every unit before the kill";
  EXPECT_TRUE(finalOutputs().empty()) << "a file under a final name after the kill: " << finalOutputs().front();

  const auto r = runCropmapMpi(2, "predict --resume --config " + config());
  ASSERT_EQ(r.exitCode, 0) << r.output;
  const std::string summary = readFile(dir() + "/predict_summary.json");
  EXPECT_GE(jsonNumber(summary, "units_resumed"), static_cast<double>(afterKill) - 0.5);
  EXPECT_EQ(readBand(mapPath(), 1), ref);
  EXPECT_EQ(readBand(mapPath(), 2), refConf);
  const auto p = readParcels(dir() + "/parcels.gpkg"), refParcels = readParcels(dir() + "/np2/parcels.gpkg");
  EXPECT_EQ(p.size(), refParcels.size());
  for (const auto& [id, row] : refParcels) EXPECT_EQ(p.at(id).cls, row.cls) << "parcel " << id;
  EXPECT_FALSE(fs::exists(dir() + "/maps/.parts")) << "parts are removed once the maps are complete";

  // Resuming a complete stage does nothing.
  const auto again = runCropmapMpi(2, "predict --resume --config " + config());
  ASSERT_EQ(again.exitCode, 0) << again.output;
  EXPECT_NE(again.output.find("nothing to do"), std::string::npos) << again.output;

  // ... but not when an output option changed: the maps are written again, as tiled GeoTIFF.
  const auto gtiff = runCropmapMpi(2, "predict --resume --config " + config() + " --set predict.format=gtiff");
  ASSERT_EQ(gtiff.exitCode, 0) << gtiff.output;
  EXPECT_EQ(gtiff.output.find("nothing to do"), std::string::npos) << gtiff.output;
  EXPECT_EQ(readBand(mapPath(), 1), ref);
  GDALDatasetUniquePtr ds(GDALDataset::Open(mapPath().c_str(), GDAL_OF_RASTER | GDAL_OF_READONLY));
  ASSERT_TRUE(ds);
  EXPECT_EQ(ds->GetMetadataItem("LAYOUT", "IMAGE_STRUCTURE"), nullptr);
}
