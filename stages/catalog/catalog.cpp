#include "catalog.hpp"

#include <gdal_priv.h>
#include <glob.h>
#include <ogr_spatialref.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>

#include "kernels/spectral.hpp"
#include "pipeline/gdal_io.hpp"
#include "pipeline/json.hpp"
#include "pipeline/s2_metadata.hpp"
#include "pipeline/log.hpp"
#include "pipeline/mpi.hpp"

namespace fs = std::filesystem;

namespace cropmap {

std::string CatalogProblem::text() const {
  std::string s = file;
  if (!tile.empty() || !date.empty()) s += " (tile " + tile + (date.empty() ? "" : ", " + date) + ")";
  return s + ": " + reason;
}

int Catalog::scenes() const {
  int n = 0;
  for (const auto& t : tiles) n += static_cast<int>(t.scenes.size());
  return n;
}

InputsSection effectiveInputs(const Config& config) {
  Config resolved = config;
  resolved.applySynthDefaults();
  return resolved.inputs;
}

// ---------------------------------------------------------------------------
// Discovery (rank 0)

namespace {

struct Discovery {
  std::vector<Scene> scenes;
  std::vector<CatalogProblem> problems;
};

bool hasGlob(const std::string& s) { return s.find_first_of("*?[") != std::string::npos; }

std::vector<std::string> expand(const std::string& entry, std::vector<CatalogProblem>& problems) {
  std::vector<std::string> out;
  if (hasGlob(entry)) {
    glob_t g{};
    const int rc = ::glob(entry.c_str(), 0, nullptr, &g);
    if (rc == 0)
      for (size_t i = 0; i < g.gl_pathc; ++i) out.emplace_back(g.gl_pathv[i]);
    globfree(&g);
    if (out.empty()) problems.push_back({entry, "", "", "the pattern matches no file"});
  } else if (!fs::exists(entry)) {
    problems.push_back({entry, "", "", "no such file or directory"});
  } else {
    out.push_back(entry);
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::string upper(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(), ::toupper);
  return s;
}

bool isSafeDir(const fs::path& p) { return fs::is_directory(p) && upper(p.extension().string()) == ".SAFE"; }

fs::path findProductXml(const fs::path& safe) {
  if (fs::exists(safe / "MTD_MSIL2A.xml")) return safe / "MTD_MSIL2A.xml";
  // Products of the first processing baselines name it after the product.
  for (const auto& e : fs::directory_iterator(safe)) {
    const std::string n = e.path().filename().string();
    if (e.is_regular_file() && n.size() > 4 && upper(n.substr(n.size() - 4)) == ".XML" &&
        (n.find("MTD_SAFL2A") != std::string::npos || n.find("MTD_MSIL2A") != std::string::npos))
      return e.path();
  }
  return {};
}

// Band files of a SAFE product: ..._B02_10m.jp2, L2A_..._SCL_20m.jp2 (older
// baselines), any prefix; the finest resolution of each band wins.
std::map<std::string, std::pair<int, std::string>> safeBandFiles(const fs::path& safe) {
  static const std::regex re(R"(_(B0[1-9]|B1[0-2]|B8A|SCL)_(10|20|60)m\.jp2$)", std::regex::icase);
  std::map<std::string, std::pair<int, std::string>> best;
  const fs::path granule = safe / "GRANULE";
  if (!fs::is_directory(granule)) return best;
  for (const auto& e : fs::recursive_directory_iterator(granule)) {
    if (!e.is_regular_file()) continue;
    const std::string n = e.path().filename().string();
    std::smatch m;
    if (!std::regex_search(n, m, re)) continue;
    const std::string band = upper(m[1]);
    const int res = std::stoi(m[2]);
    auto it = best.find(band);
    if (it == best.end() || res < it->second.first) best[band] = {res, e.path().string()};
  }
  return best;
}

// How deep below an inputs.safe directory products are looked for: an archive
// root over Sentinel-2/L2A/YYYY/MM/DD/*.SAFE needs 5 levels.
constexpr int kSafeSearchDepth = 8;

// The .SAFE products below `dir`, searched depth-first in name order. Symbolic
// links to directories are followed, each real directory once, so a link loop
// ends; a .SAFE directory is never entered. `deeper` is set when directories
// below the depth bound were left unsearched.
void findSafeProducts(const fs::path& dir, int depth, std::set<fs::path>& visited, std::vector<fs::path>& out,
                      bool& deeper) {
  std::error_code ec;
  const fs::path real = fs::canonical(dir, ec);
  if (ec || !visited.insert(real).second) return;
  std::vector<fs::path> entries;
  for (fs::directory_iterator it(dir, fs::directory_options::skip_permission_denied, ec), end; !ec && it != end;
       it.increment(ec))
    if (it->is_directory(ec)) entries.push_back(it->path());
  std::sort(entries.begin(), entries.end());
  for (const auto& e : entries) {
    if (isSafeDir(e)) out.push_back(e);
    else if (depth < kSafeSearchDepth) findSafeProducts(e, depth + 1, visited, out, deeper);
    else deeper = true;
  }
}

void discoverSafe(const InputsSection& in, Discovery& d) {
  std::vector<fs::path> products;
  struct Search {
    std::string dir;
    size_t first, count;  // its products in `products`
  };
  std::vector<Search> searched;
  for (const auto& entry : in.safe)
    for (const auto& p : expand(entry, d.problems)) {
      if (isSafeDir(p)) {
        products.emplace_back(p);
      } else if (fs::is_directory(p)) {
        std::vector<fs::path> inside;
        std::set<fs::path> visited;
        bool deeper = false;
        findSafeProducts(p, 1, visited, inside, deeper);
        if (deeper)
          log::warn("inputs.safe: ", p, ": directories more than ", kSafeSearchDepth,
                    " levels down were not searched; point inputs.safe at a deeper directory");
        if (inside.empty()) d.problems.push_back({p, "", "", "directory holds no .SAFE product"});
        searched.push_back({p, products.size(), inside.size()});
        products.insert(products.end(), inside.begin(), inside.end());
      } else {
        d.problems.push_back({p, "", "", "not a .SAFE product directory"});
      }
    }
  std::vector<std::string> tileOf(products.size());
  for (const auto& safe : products) {
    const fs::path xml = findProductXml(safe);
    if (xml.empty()) {
      d.problems.push_back({safe.string(), "", "", "no MTD_MSIL2A.xml product metadata"});
      continue;
    }
    S2ProductMetadata md;
    try {
      md = parseS2Metadata(xml.string());
    } catch (const std::exception& e) {
      std::string reason = e.what();
      if (reason.rfind(xml.string() + ": ", 0) == 0) reason = reason.substr(xml.string().size() + 2);
      d.problems.push_back({xml.string(), "", "", reason});
      continue;
    }
    if (md.offsetFromBaseline)
      log::warn("catalog: ", xml.string(), ": processing baseline ", md.baseline,
                " applies BOA_ADD_OFFSET but the metadata lists none (stripped or rewritten by an archive); using the "
                "documented ", offsetOfBaseline(md.baseline), " for every band. Check the product if its values look shifted.");
    Scene s;
    s.id = safe.stem().string();
    s.tile = md.tile;
    s.date = md.isoDate();
    s.baseline = md.baseline;
    s.source = safe.string();
    s.offsetsKnown = true;
    auto files = safeBandFiles(safe);
    if (s.tile.empty()) {
      static const std::regex tileRe(R"(T(\d{2}[A-Z]{3})_)");
      std::smatch m;
      for (const auto& [band, f] : files)
        if (std::regex_search(f.second, m, tileRe)) {
          s.tile = m[1];
          break;
        }
    }
    std::vector<std::string> wanted = in.bands;
    wanted.push_back("SCL");
    std::string missing;
    for (const auto& b : wanted) {
      auto it = files.find(b);
      if (it == files.end()) {
        missing += (missing.empty() ? "" : ", ") + b;
        continue;
      }
      BandFile bf;
      bf.path = it->second.second;
      if (b != "SCL") {
        bf.addOffset = md.offsetOf(b);
        bf.quantification = md.quantification;
      }
      s.bands[b] = bf;
    }
    tileOf[static_cast<size_t>(&safe - products.data())] = s.tile;
    if (!missing.empty()) {
      d.problems.push_back({safe.string(), s.tile, s.date, "missing band file(s) " + missing});
      continue;
    }
    d.scenes.push_back(std::move(s));
  }
  // What each directory search found, per tile: a wrong archive root shows at once.
  for (const auto& search : searched) {
    std::map<std::string, int> perTile;
    for (size_t i = search.first; i < search.first + search.count; ++i) perTile[tileOf[i].empty() ? "?" : tileOf[i]]++;
    std::string tiles;
    for (const auto& [t, n] : perTile) tiles += (tiles.empty() ? "" : ", ") + t + ": " + std::to_string(n);
    log::info("inputs.safe: ", search.dir, ": ", search.count, " .SAFE product(s)",
              tiles.empty() ? "" : " (" + tiles + ")");
  }
}

std::regex patternRegex(const std::string& pattern) {
  std::string re;
  for (size_t i = 0; i < pattern.size();) {
    auto take = [&](const char* key, const char* group) {
      const size_t n = std::strlen(key);
      if (pattern.compare(i, n, key) == 0) {
        re += group;
        i += n;
        return true;
      }
      return false;
    };
    if (take("{tile}", R"((?:T?)(\d{2}[A-Z]{3}))") || take("{date}", R"((\d{8}))") ||
        take("{band}", R"((B0[1-9]|B1[0-2]|B8A|SCL))"))
      continue;
    const char c = pattern[i++];
    if (std::string("\\^$.|?*+()[]{}").find(c) != std::string::npos) re += '\\';
    re += c;
  }
  return std::regex(re);
}

std::string isoFromCompact(const std::string& d) {
  if (d.size() == 8) return d.substr(0, 4) + "-" + d.substr(4, 2) + "-" + d.substr(6, 2);
  return d;
}

// Per-band files grouped into scenes by (tile, date).
void addBandFile(std::map<std::pair<std::string, std::string>, Scene>& scenes, const std::string& tile,
                 const std::string& date, const std::string& band, const std::string& path,
                 const std::string& source) {
  Scene& s = scenes[{tile, date}];
  s.tile = tile;
  s.date = date;
  s.id = tile + "_" + date;
  if (s.source.empty()) s.source = source;
  BandFile bf;
  bf.path = path;
  s.bands[band] = bf;
}

void finishGrouped(std::map<std::pair<std::string, std::string>, Scene>& grouped, const InputsSection& in,
                   Discovery& d) {
  for (auto& [key, s] : grouped) {
    std::vector<std::string> wanted = in.bands;
    wanted.push_back("SCL");
    std::string missing;
    for (const auto& b : wanted)
      if (!s.bands.count(b)) missing += (missing.empty() ? "" : ", ") + b;
    // Bands not configured are not needed.
    for (auto it = s.bands.begin(); it != s.bands.end();)
      it = std::find(wanted.begin(), wanted.end(), it->first) == wanted.end() ? s.bands.erase(it) : std::next(it);
    if (!missing.empty()) {
      d.problems.push_back({s.source, s.tile, s.date, "missing band file(s) " + missing});
      continue;
    }
    d.scenes.push_back(s);
  }
}

void discoverGeotiff(const InputsSection& in, Discovery& d) {
  const std::regex re = patternRegex(in.geotiff_pattern);
  std::map<std::pair<std::string, std::string>, Scene> grouped;
  auto consider = [&](const fs::path& f) {
    std::smatch m;
    const std::string name = f.filename().string();
    if (!std::regex_match(name, m, re)) return false;
    addBandFile(grouped, m[1], isoFromCompact(m[2]), m[3], f.string(), f.string());
    return true;
  };
  for (const auto& entry : in.geotiff)
    for (const auto& p : expand(entry, d.problems)) {
      if (fs::is_directory(p)) {
        std::vector<fs::path> files;
        for (const auto& e : fs::recursive_directory_iterator(p))
          if (e.is_regular_file()) files.push_back(e.path());
        std::sort(files.begin(), files.end());
        size_t matched = 0;
        for (const auto& f : files) matched += consider(f);
        if (matched == 0)
          d.problems.push_back({p, "", "", "no file matches inputs.geotiff_pattern '" + in.geotiff_pattern + "'"});
      } else if (!consider(p)) {
        d.problems.push_back({p, "", "", "file name does not match inputs.geotiff_pattern '" + in.geotiff_pattern + "'"});
      }
    }
  finishGrouped(grouped, in, d);
}

void discoverCsv(const InputsSection& in, Discovery& d) {
  std::ifstream f(in.csv);
  if (!f) {
    d.problems.push_back({in.csv, "", "", "cannot read the scene list"});
    return;
  }
  const fs::path base = fs::path(in.csv).parent_path();
  std::map<std::pair<std::string, std::string>, Scene> grouped;
  std::string line;
  int lineNo = 0;
  static const std::regex dateRe(R"((\d{4})-?(\d{2})-?(\d{2}))");
  while (std::getline(f, line)) {
    ++lineNo;
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty() || line[0] == '#') continue;
    std::vector<std::string> cols;
    std::stringstream ss(line);
    std::string c;
    while (std::getline(ss, c, ',')) cols.push_back(c);
    const std::string where = in.csv + ":" + std::to_string(lineNo);
    if (lineNo == 1) {
      if (cols.size() < 4 || cols[0] != "tile" || cols[1] != "date" || cols[2] != "band" || cols[3] != "path") {
        d.problems.push_back({where, "", "", "expected the header tile,date,band,path"});
        return;
      }
      continue;
    }
    std::smatch m;
    if (cols.size() != 4 || !std::regex_match(cols[1], m, dateRe)) {
      d.problems.push_back({where, "", "", "expected tile,date,band,path with a date YYYY-MM-DD"});
      continue;
    }
    fs::path p = cols[3];
    if (p.is_relative()) p = base / p;
    addBandFile(grouped, cols[0], m[1].str() + "-" + m[2].str() + "-" + m[3].str(), upper(cols[2]), p.string(),
                where);
  }
  finishGrouped(grouped, in, d);
}

// STAC Items (a FeatureCollection of them, or one Item per file) whose assets
// are the band files: Sentinel-2 L2A COG collections name assets by band
// (B02, SCL) or by common name (blue, scl); hrefs are local paths, relative to
// the JSON file, file:// URLs or GDAL virtual paths (/vsicurl/, /vsis3/...).
const std::map<std::string, std::string>& stacCommonNames() {
  static const std::map<std::string, std::string> m{
      {"COASTAL", "B01"},  {"BLUE", "B02"},      {"GREEN", "B03"},     {"RED", "B04"},
      {"REDEDGE1", "B05"}, {"REDEDGE2", "B06"},  {"REDEDGE3", "B07"},  {"NIR", "B08"},
      {"NIR08", "B8A"},    {"NIR09", "B09"},     {"SWIR16", "B11"},    {"SWIR22", "B12"}};
  return m;
}

// The L2A band an asset holds ("" if none): its key (B02, b02, B02_10m, blue) or its eo:bands name.
std::string stacAssetBand(const std::string& key, const json::Value& asset) {
  static const std::regex bandRe(R"((B0[1-9]|B1[0-2]|B8A|SCL)(_\d+M)?)");
  auto fromName = [&](const std::string& name) -> std::string {
    const std::string u = upper(name);
    std::smatch m;
    if (std::regex_match(u, m, bandRe)) return m[1];
    auto it = stacCommonNames().find(u);
    return it == stacCommonNames().end() ? "" : it->second;
  };
  std::string band = fromName(key);
  if (band.empty())
    if (const json::Value* eo = asset.find("eo:bands"); eo && eo->isArray() && eo->array().size() == 1)
      band = fromName(eo->array().front().stringOr("name", ""));
  return band;
}

std::string stacHref(const std::string& href, const fs::path& base) {
  if (href.rfind("/vsi", 0) == 0) return href;
  if (href.rfind("file://", 0) == 0) return href.substr(7);
  if (href.rfind("http://", 0) == 0 || href.rfind("https://", 0) == 0) return "/vsicurl/" + href;
  if (href.rfind("s3://", 0) == 0) return "/vsis3/" + href.substr(5);
  const fs::path p(href);
  return (p.is_relative() ? base / p : p).lexically_normal().string();
}

// One Item to a scene, or the reason it cannot be one.
std::string stacScene(const json::Value& item, const fs::path& base, const InputsSection& in, Scene& s) {
  const json::Value* props = item.find("properties");
  if (!props || !props->isObject()) return "no properties";
  s.id = item.stringOr("id", "");
  const std::string datetime = props->stringOr("datetime", "");
  static const std::regex dateRe(R"((\d{4}-\d{2}-\d{2})T.*)");
  std::smatch m;
  if (!std::regex_match(datetime, m, dateRe)) return "no properties.datetime (ISO 8601)";
  s.date = m[1];
  // Tile: s2:mgrs_tile, grid:code MGRS-33UVP, the mgrs: extension, or the id.
  s.tile = props->stringOr("s2:mgrs_tile", "");
  const std::string grid = props->stringOr("grid:code", "");
  if (s.tile.empty() && grid.rfind("MGRS-", 0) == 0) s.tile = grid.substr(5);
  if (s.tile.empty() && props->has("mgrs:utm_zone")) {
    char zone[8];
    std::snprintf(zone, sizeof zone, "%02d", static_cast<int>(props->numberOr("mgrs:utm_zone", 0)));
    s.tile = zone + props->stringOr("mgrs:latitude_band", "") + props->stringOr("mgrs:grid_square", "");
  }
  static const std::regex tileRe(R"((?:^|_)T?(\d{2}[A-Z]{3})(?:_|$))");
  if (s.tile.empty() && std::regex_search(s.id, m, tileRe)) s.tile = m[1];
  if (s.tile.size() != 5) return "no Sentinel-2 tile (s2:mgrs_tile, grid:code or the item id)";
  s.baseline = props->stringOr("s2:processing_baseline", "");
  if (s.baseline.empty()) s.baseline = baselineFromName(props->stringOr("s2:product_uri", s.id));
  if (s.id.empty()) s.id = s.tile + "_" + s.date;
  const json::Value* assets = item.find("assets");
  if (!assets || !assets->isObject()) return "no assets";
  std::vector<std::string> wanted = in.bands;
  wanted.push_back("SCL");
  for (const auto& [key, asset] : assets->members()) {
    const std::string band = stacAssetBand(key, asset);
    if (band.empty() || std::find(wanted.begin(), wanted.end(), band) == wanted.end() || s.bands.count(band)) continue;
    const std::string href = asset.stringOr("href", "");
    if (href.empty()) return "asset '" + key + "' has no href";
    BandFile bf;
    bf.path = stacHref(href, base);
    if (band != "SCL") {
      // raster:bands scale/offset (reflectance = DN x scale + offset), else the baseline's offset.
      const json::Value* rb = asset.find("raster:bands");
      if (rb && rb->isArray() && !rb->array().empty() && rb->array().front().has("scale")) {
        const double scale = rb->array().front().numberOr("scale", 0);
        if (!(scale > 0)) return "asset '" + key + "': raster:bands scale is not a positive number";
        bf.quantification = 1.0 / scale;
        bf.addOffset = rb->array().front().numberOr("offset", 0) / scale;
      } else {
        bf.addOffset = offsetOfBaseline(s.baseline);
      }
    }
    s.bands[band] = bf;
  }
  std::string missing;
  for (const auto& b : wanted)
    if (!s.bands.count(b)) missing += (missing.empty() ? "" : ", ") + b;
  if (!missing.empty()) return "missing band asset(s) " + missing;
  s.offsetsKnown = true;
  return "";
}

void discoverStac(const InputsSection& in, Discovery& d) {
  for (const auto& entry : in.stac)
    for (const auto& file : expand(entry, d.problems)) {
      json::Value doc;
      try {
        doc = json::parseFile(file);
      } catch (const std::exception& e) {
        d.problems.push_back({file, "", "", e.what()});
        continue;
      }
      const std::string type = doc.stringOr("type", "");
      std::vector<const json::Value*> items;
      if (type == "FeatureCollection" && doc.has("features") && doc.at("features").isArray())
        for (const auto& f : doc.at("features").array()) items.push_back(&f);
      else if (type == "Feature")
        items.push_back(&doc);
      else {
        d.problems.push_back({file, "", "", "not a STAC Item or ItemCollection (type '" + type + "')"});
        continue;
      }
      const fs::path base = fs::path(file).parent_path();
      for (const json::Value* item : items) {
        Scene s;
        const std::string why = stacScene(*item, base, in, s);
        s.source = file + "#" + s.id;
        if (!why.empty()) {
          d.problems.push_back({s.source, s.tile, s.date, why});
          continue;
        }
        d.scenes.push_back(std::move(s));
      }
    }
}

// ---------------------------------------------------------------------------
// Serialisation for broadcasts (tab-separated, one record per line)

std::string num(double v) {
  char buf[40];
  std::snprintf(buf, sizeof buf, "%.17g", v);
  return buf;
}

std::vector<std::string> splitTabs(const std::string& line) {
  std::vector<std::string> f;
  size_t start = 0;
  for (;;) {
    const size_t t = line.find('\t', start);
    f.push_back(line.substr(start, t == std::string::npos ? std::string::npos : t - start));
    if (t == std::string::npos) break;
    start = t + 1;
  }
  return f;
}

std::string encodeScene(const Scene& s) {
  std::string out = s.id + "\t" + s.tile + "\t" + s.date + "\t" + s.baseline + "\t" + s.source + "\t" +
                    std::to_string(s.period) + "\t" + num(s.clearFraction) + "\t" + (s.offsetsKnown ? "1" : "0") + "\t" +
                    std::to_string(s.bands.size());
  for (const auto& [b, f] : s.bands) out += "\t" + b + "\t" + f.path + "\t" + num(f.addOffset) + "\t" + num(f.quantification);
  return out;
}

Scene decodeScene(const std::string& line) {
  auto f = splitTabs(line);
  Scene s;
  s.id = f.at(0);
  s.tile = f.at(1);
  s.date = f.at(2);
  s.baseline = f.at(3);
  s.source = f.at(4);
  s.period = std::stoi(f.at(5));
  s.clearFraction = std::stod(f.at(6));
  s.offsetsKnown = f.at(7) == "1";
  const int n = std::stoi(f.at(8));
  for (int i = 0; i < n; ++i) {
    const size_t k = 9 + static_cast<size_t>(i) * 4;
    s.bands[f.at(k)] = BandFile{f.at(k + 1), std::stod(f.at(k + 2)), std::stod(f.at(k + 3))};
  }
  return s;
}

// ---------------------------------------------------------------------------
// Validation (every rank, a share of the scenes)

struct Grid {
  std::string wkt;
  int epsg = 0;
  std::array<double, 6> gt{};
  int width = 0, height = 0;
  std::string key() const {
    std::string k = wkt + "|" + std::to_string(width) + "x" + std::to_string(height);
    for (double v : gt) k += "|" + num(v);
    return k;
  }
  std::string describe() const {
    char buf[200];
    std::snprintf(buf, sizeof buf, "EPSG:%d, %dx%d pixels of %g m at (%.1f, %.1f)", epsg, width, height, gt[1],
                  gt[0], gt[3]);
    return buf;
  }
};

struct Checked {
  bool ok = true;
  bool noData = false;  // readable, but SCL 0 everywhere: no observation (outside the swath or the clipped area)
  std::string file, reason;
  Grid grid;
  std::string baseline;
  std::map<std::string, std::pair<double, double>> offsets;  // band -> (offset, quantification), GeoTIFF metadata
  double clearFraction = -1;
};

std::string encodeChecked(size_t index, const Checked& c) {
  std::string s = std::to_string(index) + "\t" + (c.ok ? "1" : "0") + (c.noData ? "n" : "") + "\t" + c.file + "\t" + c.reason + "\t" +
                  c.grid.wkt + "\t" + std::to_string(c.grid.epsg) + "\t" + std::to_string(c.grid.width) + "\t" +
                  std::to_string(c.grid.height) + "\t" + c.baseline + "\t" + num(c.clearFraction) + "\t" +
                  std::to_string(c.offsets.size());
  for (double v : c.grid.gt) s += "\t" + num(v);
  for (const auto& [b, oq] : c.offsets) s += "\t" + b + "\t" + num(oq.first) + "\t" + num(oq.second);
  return s;
}

std::pair<size_t, Checked> decodeChecked(const std::string& line) {
  auto f = splitTabs(line);
  Checked c;
  const size_t index = std::stoul(f.at(0));
  c.ok = f.at(1).front() == '1';
  c.noData = f.at(1).size() > 1;
  c.file = f.at(2);
  c.reason = f.at(3);
  c.grid.wkt = f.at(4);
  c.grid.epsg = std::stoi(f.at(5));
  c.grid.width = std::stoi(f.at(6));
  c.grid.height = std::stoi(f.at(7));
  c.baseline = f.at(8);
  c.clearFraction = std::stod(f.at(9));
  const int n = std::stoi(f.at(10));
  for (size_t i = 0; i < 6; ++i) c.grid.gt[i] = std::stod(f.at(11 + i));
  for (int i = 0; i < n; ++i) {
    const size_t k = 17 + static_cast<size_t>(i) * 3;
    c.offsets[f.at(k)] = {std::stod(f.at(k + 1)), std::stod(f.at(k + 2))};
  }
  return {index, c};
}

bool sameCrs(const std::string& a, const std::string& b) {
  if (a == b) return true;
  if (a.empty() || b.empty()) return false;
  OGRSpatialReference sa, sb;
  if (sa.importFromWkt(a.c_str()) != OGRERR_NONE || sb.importFromWkt(b.c_str()) != OGRERR_NONE) return false;
  return sa.IsSame(&sb) != 0;
}

std::string oneLine(std::string s) {
  for (char& c : s)
    if (c == '\t' || c == '\n' || c == '\r') c = ' ';
  return s;
}

// Why the grid of a band does not nest in the scene's grid `ref` ("" when it
// does): a nesting grid has the same origin, a pixel size that is an integer
// multiple of ref's, and covers ref's extent up to one of its own pixels (the
// 20 m bands of a product clipped to an odd number of 10 m pixels have half
// the 10 m extent, rounded up or down).
std::string nestingProblem(const Grid& g, const Grid& ref) {
  if (g.gt[2] != 0 || g.gt[4] != 0 || ref.gt[2] != 0 || ref.gt[4] != 0) return "rotated grids are not supported";
  const double kx = g.gt[1] / ref.gt[1], ky = g.gt[5] / ref.gt[5];
  const int k = static_cast<int>(std::lround(kx));
  if (k < 1 || std::fabs(kx - k) > 1e-6 || std::fabs(ky - k) > 1e-6)
    return "its pixel size is not an integer multiple of the scene's";
  const double tol = std::fabs(ref.gt[1]) * 1e-3;
  if (std::fabs(g.gt[0] - ref.gt[0]) > tol || std::fabs(g.gt[3] - ref.gt[3]) > tol)
    return "its origin is shifted";
  if (std::abs(g.width * k - ref.width) >= k || std::abs(g.height * k - ref.height) >= k)
    return "its extent differs by more than one of its pixels";
  return "";
}

// The SCL summary of a whole band at full resolution, read in strips of rows.
SclSummary summariseSclFull(GDALRasterBand* band, int width, int height, const SclKeep& keep, const std::string& path) {
  SclSummary total;
  const int strip = std::max(1, std::min(height, (1 << 22) / std::max(1, width)));
  std::vector<std::uint8_t> rows(static_cast<size_t>(strip) * static_cast<size_t>(width));
  for (int r = 0; r < height; r += strip) {
    const int n = std::min(strip, height - r);
    gdal::readWindow(band, 0, r, width, n, rows.data(), width, n, path);
    const SclSummary s = summariseScl(rows.data(), static_cast<size_t>(n) * static_cast<size_t>(width), keep);
    total.pixels += s.pixels;
    total.data += s.data;
    total.clear += s.clear;
  }
  return total;
}

// offsetsKnown: the product's metadata gave the offsets (SAFE, STAC); else they
// come from each GeoTIFF's metadata items.
Checked checkScene(const Scene& s, const std::vector<std::string>& bands, const SclKeep& keep, bool offsetsKnown) {
  Checked c;
  std::vector<std::pair<std::string, Grid>> grids;
  auto fail = [&](const std::string& file, const std::string& reason) {
    c.ok = false;
    c.file = file;
    c.reason = oneLine(reason);
    return c;
  };
  std::vector<std::string> all = bands;
  all.push_back("SCL");
  for (const auto& b : all) {
    const std::string& path = s.bands.at(b).path;
    gdal::Dataset ds;
    try {
      ds = gdal::openRaster(path);
    } catch (const std::exception& e) {
      return fail(path, e.what());
    }
    if (ds->GetRasterCount() < 1) return fail(path, "no raster band");
    Grid g;
    g.width = ds->GetRasterXSize();
    g.height = ds->GetRasterYSize();
    if (ds->GetGeoTransform(g.gt.data()) != CE_None) return fail(path, "no georeferencing (geotransform)");
    if (const OGRSpatialReference* srs = ds->GetSpatialRef()) {
      g.wkt = gdal::wktOf(*srs);
      g.epsg = gdal::epsgOf(*srs);
    }
    if (g.wkt.empty()) return fail(path, "no coordinate reference system");
    // Decode a corner window: a truncated file fails here rather than mid-run.
    GDALRasterBand* band = ds->GetRasterBand(1);
    const int cw = std::min(16, g.width), chh = std::min(16, g.height);
    std::vector<std::uint16_t> corner(static_cast<size_t>(cw * chh));
    try {
      gdal::readWindow(band, g.width - cw, g.height - chh, cw, chh, corner.data(), cw, chh, path);
    } catch (const std::exception& e) {
      return fail(path, std::string("unreadable (truncated or corrupt?): ") + e.what());
    }
    if (b == "SCL") {
      // The clear-sky fraction from a reduced-resolution read (served from overviews where the format has them).
      const int bw = std::min(g.width, 256), bh = std::min(g.height, 256);
      std::vector<std::uint8_t> scl(static_cast<size_t>(bw * bh));
      try {
        gdal::readWindow(band, 0, 0, g.width, g.height, scl.data(), bw, bh, path);
      } catch (const std::exception& e) {
        return fail(path, std::string("unreadable (truncated or corrupt?): ") + e.what());
      }
      SclSummary sum = summariseScl(scl.data(), scl.size(), keep);
      // A reduced read can step over a narrow strip of data at a swath edge:
      // a scene that looks empty is read again at full resolution, in strips.
      if (sum.data == 0 && (bw < g.width || bh < g.height)) {
        try {
          sum = summariseSclFull(band, g.width, g.height, keep, path);
        } catch (const std::exception& e) {
          return fail(path, std::string("unreadable (truncated or corrupt?): ") + e.what());
        }
      }
      c.clearFraction = sum.clearFraction();
      // Clipped products and products at a swath edge can hold no data over
      // the tile at all: a normal acquisition that contributes nothing, not a problem.
      c.noData = sum.data == 0;
    } else if (!offsetsKnown) {
      const char* off = ds->GetMetadataItem("BOA_ADD_OFFSET");
      const char* q = ds->GetMetadataItem("BOA_QUANTIFICATION_VALUE");
      const char* bl = ds->GetMetadataItem("PROCESSING_BASELINE");
      const double qv = q ? std::atof(q) : 10000.0;
      if (!(qv > 0)) return fail(path, std::string("BOA_QUANTIFICATION_VALUE '") + q + "' is not a positive number");
      c.offsets[b] = {off ? std::atof(off) : 0.0, qv};
      if (bl && c.baseline.empty()) c.baseline = bl;
    }
    grids.emplace_back(path, g);
  }
  // The scene's grid is its finest spectral band; every band must nest in it.
  auto finest = std::min_element(grids.begin(), grids.end() - 1, [](const auto& a, const auto& b) {
    return std::fabs(a.second.gt[1]) < std::fabs(b.second.gt[1]);
  });
  c.grid = finest->second;
  for (const auto& [path, g] : grids) {
    if (!sameCrs(g.wkt, c.grid.wkt))
      return fail(path, "CRS EPSG:" + std::to_string(g.epsg) + " differs from the scene's EPSG:" +
                            std::to_string(c.grid.epsg) + " (" + g.describe() + " vs " + c.grid.describe() + ")");
    const std::string why = nestingProblem(g, c.grid);
    if (!why.empty())
      return fail(path, "grid does not nest in the scene's finest band: " + why + " (" + g.describe() + " vs " +
                            c.grid.describe() + ")");
  }
  return c;
}

}  // namespace

// ---------------------------------------------------------------------------

Catalog buildCatalog(const Config& config, MPI_Comm comm) {
  int rank = 0, size = 1;
  CROPMAP_MPI(MPI_Comm_rank(comm, &rank));
  CROPMAP_MPI(MPI_Comm_size(comm, &size));
  const InputsSection in = effectiveInputs(config);
  Catalog cat;
  cat.axis = PeriodAxis::fromConfig(config.composite);
  cat.bands = in.bands;

  // 1. Rank 0 lists and parses the inputs; everyone receives the result.
  std::string listing;
  if (rank == 0) {
    Discovery d;
    if (in.safe.empty() && in.geotiff.empty() && in.csv.empty() && in.stac.empty())
      d.problems.push_back({"<config>", "", "", "no inputs: set inputs.safe, inputs.geotiff, inputs.stac or inputs.csv"});
    discoverSafe(in, d);
    discoverGeotiff(in, d);
    if (!in.csv.empty()) discoverCsv(in, d);
    discoverStac(in, d);
    std::set<std::string> wantedTiles(in.tiles.begin(), in.tiles.end());
    std::ostringstream os;
    for (auto& s : d.scenes) {
      if (!wantedTiles.empty() && !wantedTiles.count(s.tile)) continue;
      s.period = cat.axis.periodOf(s.date);
      if (s.period < 0) {
        d.problems.push_back({s.source, s.tile, s.date,
                              "sensing date outside the period axis " + cat.axis.starts.front() + " .. " +
                                  cat.axis.ends.back() + " (exclusive); check composite.year/start_month"});
        continue;
      }
      os << "S\t" << encodeScene(s) << "\n";
    }
    for (const auto& p : d.problems)
      os << "P\t" << oneLine(p.file) << "\t" << p.tile << "\t" << p.date << "\t" << oneLine(p.reason) << "\n";
    listing = os.str();
  }
  listing = Comm(comm).bcast(listing, "catalog: scene listing");
  std::vector<Scene> scenes;
  {
    std::istringstream is(listing);
    std::string line;
    while (std::getline(is, line)) {
      if (line.rfind("S\t", 0) == 0) scenes.push_back(decodeScene(line.substr(2)));
      else if (line.rfind("P\t", 0) == 0) {
        auto f = splitTabs(line.substr(2));
        cat.problems.push_back({f.at(0), f.at(1), f.at(2), f.at(3)});
      }
    }
  }
  // Duplicates (the same tile and day twice, e.g. a reprocessed product): keep the newest baseline.
  {
    std::map<std::pair<std::string, std::string>, size_t> seen;
    std::vector<Scene> unique;
    for (auto& s : scenes) {
      auto key = std::make_pair(s.tile, s.date);
      auto it = seen.find(key);
      if (it == seen.end()) {
        seen[key] = unique.size();
        unique.push_back(s);
        continue;
      }
      Scene& kept = unique[it->second];
      const bool replace = s.baseline > kept.baseline;
      const Scene& dropped = replace ? kept : s;
      cat.problems.push_back({dropped.source, s.tile, s.date,
                              "duplicate acquisition; using " + (replace ? s.source : kept.source)});
      if (replace) kept = s;
    }
    scenes = std::move(unique);
  }

  // 2. Every rank checks a share of the scenes; results are shared.
  const SclKeep keep = SclKeep::of(config.composite.scl_keep);
  std::ostringstream mine;
  for (size_t i = static_cast<size_t>(rank); i < scenes.size(); i += static_cast<size_t>(size)) {
    mine << encodeChecked(i, checkScene(scenes[i], in.bands, keep, scenes[i].offsetsKnown)) << "\n";
  }
  std::vector<Checked> checked(scenes.size());
  {
    std::istringstream is(Comm(comm).allgatherv(mine.str(), "catalog: checked scenes"));
    std::string line;
    while (std::getline(is, line))
      if (!line.empty()) {
        auto [i, c] = decodeChecked(line);
        checked.at(i) = c;
      }
  }

  // 3. Per tile: the grid most scenes share; scenes off it are problems.
  std::map<std::string, std::vector<size_t>> byTile;
  for (size_t i = 0; i < scenes.size(); ++i) {
    Checked& c = checked[i];
    Scene& s = scenes[i];
    if (!c.ok) {
      cat.problems.push_back({c.file, s.tile, s.date, c.reason});
      continue;
    }
    if (c.noData) {
      cat.warnings.push_back("tile " + s.tile + " " + s.date + ": " + s.source +
                             " holds no data over the tile (SCL 0 everywhere: outside the swath or the clipped "
                             "area); it contributes no observation and is left out");
      continue;
    }
    s.clearFraction = c.clearFraction;
    if (!c.baseline.empty() && s.baseline.empty()) s.baseline = c.baseline;
    for (const auto& [b, oq] : c.offsets) {
      s.bands[b].addOffset = oq.first;
      s.bands[b].quantification = oq.second;
    }
    byTile[s.tile].push_back(i);
  }
  for (auto& [tile, idx] : byTile) {
    std::map<std::string, int> votes;
    for (size_t i : idx) votes[checked[i].grid.key()]++;
    std::string best;
    int bestVotes = -1;
    for (size_t i : idx) {  // first-seen wins ties, so the choice is deterministic
      const int v = votes[checked[i].grid.key()];
      if (v > bestVotes) {
        bestVotes = v;
        best = checked[i].grid.key();
      }
    }
    TileCatalog tc;
    const Grid* ref = nullptr;
    for (size_t i : idx)
      if (checked[i].grid.key() == best) {
        ref = &checked[i].grid;
        break;
      }
    tc.grid = TileGrid{tile, ref->wkt, ref->epsg, ref->gt, ref->width, ref->height};
    for (size_t i : idx) {
      const Grid& g = checked[i].grid;
      if (g.key() != best) {
        const std::string what = sameCrs(g.wkt, ref->wkt) ? "grid" : "CRS";
        cat.problems.push_back({scenes[i].bands.at(in.bands.front()).path, tile, scenes[i].date,
                                what + " differs from the other scenes of tile " + tile + " (" + g.describe() +
                                    " vs " + ref->describe() + ")"});
        continue;
      }
      tc.scenes.push_back(scenes[i]);
    }
    std::stable_sort(tc.scenes.begin(), tc.scenes.end(),
                     [](const Scene& a, const Scene& b) { return a.date < b.date; });
    tc.byPeriod.assign(static_cast<size_t>(cat.axis.size()), {});
    for (size_t k = 0; k < tc.scenes.size(); ++k) {
      auto& list = tc.byPeriod[static_cast<size_t>(tc.scenes[k].period)];
      list.push_back(static_cast<int>(k));
      if (static_cast<int>(list.size()) > 255)
        throw std::runtime_error("tile " + tile + ": more than 255 scenes in period " +
                                 cat.axis.starts[static_cast<size_t>(tc.scenes[k].period)] +
                                 "; use shorter periods (composite.period: custom)");
    }
    for (int p = 0; p < cat.axis.size(); ++p)
      if (tc.byPeriod[static_cast<size_t>(p)].empty())
        cat.warnings.push_back("tile " + tile + ": no scene in period " + cat.axis.starts[static_cast<size_t>(p)] +
                               "; its values are interpolated from the neighbouring periods");
    cat.tiles.push_back(std::move(tc));
  }
  for (const auto& t : in.tiles)
    if (!byTile.count(t)) cat.problems.push_back({"<inputs>", t, "", "no usable scene of this configured tile"});

  if (!cat.problems.empty() && in.on_bad_scene == "abort") {
    std::string msg = std::to_string(cat.problems.size()) + " input problem(s) and inputs.on_bad_scene is abort:";
    for (const auto& p : cat.problems) msg += "\n  " + p.text();
    throw std::runtime_error(msg);
  }
  if (cat.tiles.empty()) {
    std::string msg = "no usable Sentinel-2 scene in the inputs";
    for (const auto& p : cat.problems) msg += "\n  " + p.text();
    throw UsageError(msg);
  }
  return cat;
}

std::string catalogReport(const Catalog& cat) {
  std::ostringstream os;
  os << "periods: " << cat.axis.size() << " (" << cat.axis.starts.front() << " .. " << cat.axis.ends.back()
     << ", exclusive)\n";
  os << "bands:";
  for (const auto& b : cat.bands) os << " " << b;
  os << " + SCL\n";
  for (const auto& t : cat.tiles) {
    os << "\ntile " << t.grid.name << ": " << t.scenes.size() << " scenes, EPSG:" << t.grid.epsg << ", "
       << t.grid.width << "x" << t.grid.height << " pixels\n";
    for (int p = 0; p < cat.axis.size(); ++p) {
      const auto& list = t.byPeriod[static_cast<size_t>(p)];
      char head[64];
      std::snprintf(head, sizeof head, "  %s  %2zu scene%s", cat.axis.starts[static_cast<size_t>(p)].c_str(),
                    list.size(), list.size() == 1 ? " " : "s");
      os << head;
      double sum = 0;
      for (int k : list) sum += t.scenes[static_cast<size_t>(k)].clearFraction;
      if (!list.empty()) {
        char buf[48];
        std::snprintf(buf, sizeof buf, "  mean clear %3.0f%%  ", 100.0 * sum / static_cast<double>(list.size()));
        os << buf;
        for (int k : list) {
          const Scene& s = t.scenes[static_cast<size_t>(k)];
          std::snprintf(buf, sizeof buf, " %s(%.0f%%)", s.date.substr(5).c_str(), 100.0 * s.clearFraction);
          os << buf;
        }
      } else {
        os << "  (none: interpolated)";
      }
      os << "\n";
    }
  }
  os << "\nproblems: " << cat.problems.size() << "\n";
  for (const auto& p : cat.problems) os << "  " << p.text() << "\n";
  if (!cat.warnings.empty()) {
    os << "warnings: " << cat.warnings.size() << "\n";
    for (const auto& w : cat.warnings) os << "  " << w << "\n";
  }
  return os.str();
}

}  // namespace cropmap
