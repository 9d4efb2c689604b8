#include "s2_metadata.hpp"

#include <cpl_error.h>
#include <cpl_minixml.h>

#include <cctype>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <memory>
#include <regex>
#include <stdexcept>

namespace cropmap {

namespace {

struct XmlTree {
  CPLXMLNode* root = nullptr;
  ~XmlTree() {
    if (root) CPLDestroyXMLNode(root);
  }
};

// First element named `name` (namespaces stripped) anywhere below node, depth first.
const CPLXMLNode* findElement(const CPLXMLNode* node, const char* name) {
  for (const CPLXMLNode* c = node; c; c = c->psNext) {
    if (c->eType == CXT_Element) {
      if (EQUAL(c->pszValue, name)) return c;
      if (const CPLXMLNode* f = findElement(c->psChild, name)) return f;
    }
  }
  return nullptr;
}

void forEachElement(const CPLXMLNode* node, const char* name, const std::function<void(const CPLXMLNode*)>& fn) {
  for (const CPLXMLNode* c = node; c; c = c->psNext) {
    if (c->eType != CXT_Element) continue;
    if (EQUAL(c->pszValue, name)) fn(c);
    forEachElement(c->psChild, name, fn);
  }
}

// The whole of `text` as a number.
bool parseNumber(const std::string& text, double& v) {
  if (text.empty()) return false;
  char* end = nullptr;
  v = std::strtod(text.c_str(), &end);
  return end && *end == '\0';
}

std::string textOf(const CPLXMLNode* n) {
  if (!n) return "";
  const char* v = CPLGetXMLValue(n, nullptr, nullptr);
  return v ? std::string(v) : std::string();
}

std::string firstText(const CPLXMLNode* root, std::initializer_list<const char*> names) {
  for (const char* name : names)
    if (const CPLXMLNode* n = findElement(root, name)) {
      std::string t = textOf(n);
      if (!t.empty()) return t;
    }
  return "";
}

// "B2" / "B02" / "B8A" -> "B02" / "B8A"
std::string canonicalBand(const std::string& b) {
  if (b.size() == 2 && b[0] == 'B' && std::isdigit(static_cast<unsigned char>(b[1]))) return "B0" + b.substr(1);
  return b;
}

// Band and resolution from a file stem like T33UVP_20220105T100319_B02_10m.
bool bandFromStem(const std::string& stem, std::string& band, int& res) {
  const auto last = stem.rfind('_');
  if (last == std::string::npos || last == 0) return false;
  const auto prev = stem.rfind('_', last - 1);
  if (prev == std::string::npos) return false;
  const std::string r = stem.substr(last + 1);
  if (r.size() < 2 || r.back() != 'm') return false;
  res = std::atoi(r.c_str());
  band = canonicalBand(stem.substr(prev + 1, last - prev - 1));
  return res > 0 && !band.empty();
}

}  // namespace

const S2BandFile* S2ProductMetadata::find(const std::string& band, int resolution) const {
  const S2BandFile* best = nullptr;
  for (const auto& b : bands) {
    if (b.band != band) continue;
    if (resolution > 0 && b.resolution != resolution) continue;
    if (!best || b.resolution < best->resolution) best = &b;
  }
  return best;
}

std::string baselineFromName(const std::string& name) {
  // _N0400_ / _N0400.SAFE (compact product names) or _N02.04 (old-format granule names).
  static const std::regex re(R"(_N(\d{2})\.?(\d{2})(?=[_./]|$))");
  std::smatch m;
  std::string found;
  for (auto it = name.cbegin(); std::regex_search(it, name.cend(), m, re); it = m[0].second)
    found = m[1].str() + "." + m[2].str();  // the last one: the file's own granule over a directory above it
  return found;
}

double offsetOfBaseline(const std::string& baseline) { return baseline >= "04.00" ? -1000.0 : 0.0; }

S2ProductMetadata parseS2Metadata(const std::string& mtdFile) {
  namespace fs = std::filesystem;
  XmlTree tree;
  tree.root = CPLParseXMLFile(mtdFile.c_str());
  if (!tree.root) {
    const char* m = CPLGetLastErrorMsg();
    throw std::runtime_error(mtdFile + ": cannot read as Sentinel-2 metadata XML: " + (m && *m ? m : "parse error"));
  }
  CPLStripXMLNamespace(tree.root, nullptr, TRUE);
  const CPLXMLNode* root = tree.root;

  S2ProductMetadata md;
  md.metadataFile = mtdFile;
  md.productDir = fs::path(mtdFile).parent_path().string();
  md.productUri = firstText(root, {"PRODUCT_URI", "PRODUCT_URI_2A"});
  md.sensingTime = firstText(root, {"PRODUCT_START_TIME", "DATATAKE_SENSING_START"});
  md.spacecraft = firstText(root, {"SPACECRAFT_NAME"});
  md.baseline = firstText(root, {"PROCESSING_BASELINE"});
  const std::string orbit = firstText(root, {"SENSING_ORBIT_NUMBER"});
  md.relativeOrbit = orbit.empty() ? 0 : std::atoi(orbit.c_str());
  if (md.baseline.empty()) md.baseline = baselineFromName(md.productUri);
  if (md.baseline.empty()) md.baseline = baselineFromName(md.productDir);
  if (md.productUri.empty())
    throw std::runtime_error(mtdFile + ": not a Sentinel-2 L2A product metadata file (PRODUCT_URI missing)");
  if (md.sensingTime.size() >= 10 && std::isdigit(static_cast<unsigned char>(md.sensingTime[0])) &&
      md.sensingTime[4] == '-' && md.sensingTime[7] == '-') {
    md.date = md.sensingTime.substr(0, 4) + md.sensingTime.substr(5, 2) + md.sensingTime.substr(8, 2);
  } else {
    // No start time: the sensing date in the product name, ..._MSIL2A_20220105T100319_...
    const auto p = md.productUri.find("_MSIL2A_");
    if (p != std::string::npos && p + 16 <= md.productUri.size()) md.date = md.productUri.substr(p + 8, 8);
  }
  if (md.date.size() != 8 || md.date.find_first_not_of("0123456789") != std::string::npos)
    throw std::runtime_error(mtdFile + ": no sensing date (PRODUCT_START_TIME, or the date in PRODUCT_URI)");
  // Tile from the product name: ..._T33UVP_...
  for (size_t p = md.productUri.find("_T"); p != std::string::npos; p = md.productUri.find("_T", p + 1))
    if (p + 7 < md.productUri.size() && md.productUri[p + 7] == '_') {
      md.tile = md.productUri.substr(p + 2, 5);
      break;
    }

  const std::string q = firstText(root, {"BOA_QUANTIFICATION_VALUE", "L2A_BOA_QUANTIFICATION_VALUE"});
  if (!q.empty() && !(parseNumber(q, md.quantification) && md.quantification > 0))
    throw std::runtime_error(mtdFile + ": BOA_QUANTIFICATION_VALUE '" + q + "' is not a positive number");

  // band_id -> band name from the spectral information list (0 = B1 ... 12 = B12).
  std::map<std::string, std::string> bandOfId;
  forEachElement(root, "Spectral_Information", [&](const CPLXMLNode* n) {
    const char* id = CPLGetXMLValue(n, "bandId", nullptr);
    const char* phys = CPLGetXMLValue(n, "physicalBand", nullptr);
    if (id && phys) bandOfId[id] = canonicalBand(phys);
  });
  static const char* kDefaultIds[13] = {"B01", "B02", "B03", "B04", "B05", "B06", "B07",
                                        "B08", "B8A", "B09", "B10", "B11", "B12"};
  forEachElement(root, "BOA_ADD_OFFSET", [&](const CPLXMLNode* n) {
    const char* id = CPLGetXMLValue(n, "band_id", nullptr);
    if (!id) throw std::runtime_error(mtdFile + ": BOA_ADD_OFFSET without band_id");
    const std::string v = textOf(n);
    double offset = 0;
    if (!parseNumber(v, offset))
      throw std::runtime_error(mtdFile + ": BOA_ADD_OFFSET '" + v + "' of band_id " + id + " is not a number");
    auto it = bandOfId.find(id);
    std::string band;
    if (it != bandOfId.end()) band = it->second;
    else {
      const int i = std::atoi(id);
      if (i >= 0 && i < 13) band = kDefaultIds[i];
    }
    if (!band.empty()) md.addOffset[band] = offset;
  });
  const std::string cc = firstText(root, {"Cloud_Coverage_Assessment"});
  if (!cc.empty()) md.cloudCover = std::atof(cc.c_str());

  // Band files. PSD 14.5+: paths below the SAFE without extension; PSD 14.2:
  // stems to be found in the granule's IMG_DATA/R<res>m folders.
  auto addFile = [&](const std::string& stem, const std::string& path) {
    S2BandFile f;
    if (!bandFromStem(stem, f.band, f.resolution)) return;
    f.path = path;
    md.bands.push_back(f);
  };
  forEachElement(root, "IMAGE_FILE", [&](const CPLXMLNode* n) {
    const std::string rel = textOf(n);
    if (rel.empty()) return;
    const std::string stem = fs::path(rel).filename().string();
    std::string path = (fs::path(md.productDir) / rel).string();
    if (fs::path(path).extension() != ".jp2" && fs::path(path).extension() != ".tif") path += ".jp2";
    addFile(stem, path);
  });
  forEachElement(root, "IMAGE_FILE_2A", [&](const CPLXMLNode* n) {
    const std::string rel = textOf(n);
    if (!rel.empty()) addFile(fs::path(rel).filename().string(), (fs::path(md.productDir) / rel).string() + ".jp2");
  });
  if (const CPLXMLNode* ids = findElement(root, "IMAGE_ID_2A")) {
    (void)ids;
    forEachElement(root, "Granules", [&](const CPLXMLNode* g) {
      const char* gid = CPLGetXMLValue(g, "granuleIdentifier", "");
      for (const CPLXMLNode* c = g->psChild; c; c = c->psNext) {
        if (c->eType != CXT_Element || !EQUAL(c->pszValue, "IMAGE_ID_2A")) continue;
        const std::string stem = textOf(c);
        std::string band;
        int res = 0;
        if (!bandFromStem(stem, band, res)) continue;
        const std::string folder = "IMG_DATA/R" + std::to_string(res) + "m/" + stem + ".jp2";
        fs::path path = fs::path(md.productDir) / "GRANULE" / gid / folder;
        if (!fs::exists(path)) {  // granule folders are often named differently from the identifier
          std::error_code ec;
          for (const auto& e : fs::directory_iterator(fs::path(md.productDir) / "GRANULE", ec))
            if (fs::exists(e.path() / folder)) {
              path = e.path() / folder;
              break;
            }
        }
        addFile(stem, path.string());
      }
    });
  }
  if (md.tile.empty() && !md.bands.empty()) {
    // T33UVP_... (compact names) or ..._TL_SGS__..._A007617_T33UVP_B02_10m (the old format).
    static const std::regex tileRe(R"((?:^|_)T(\d{2}[A-Z]{3})_)");
    std::smatch m;
    const std::string stem = fs::path(md.bands.front().path).filename().string();
    if (std::regex_search(stem, m, tileRe)) md.tile = m[1];
  }
  if (md.bands.empty()) throw std::runtime_error(mtdFile + ": lists no band files (IMAGE_FILE or IMAGE_ID_2A)");
  // Old-format products name the baseline in the granule only (..._N02.04/IMG_DATA/...).
  for (size_t i = 0; md.baseline.empty() && i < md.bands.size(); ++i) md.baseline = baselineFromName(md.bands[i].path);
  if (md.baseline.empty())
    throw std::runtime_error(mtdFile + ": no processing baseline (PROCESSING_BASELINE, or N<xxyy> in the product name)");
  // Metadata without the offset list (stripped or rewritten by an archive) of a
  // product whose baseline has the offset: the value ESA applies to every band.
  if (md.addOffset.empty() && offsetOfBaseline(md.baseline) != 0) {
    static const char* kBands[13] = {"B01", "B02", "B03", "B04", "B05", "B06", "B07",
                                     "B08", "B8A", "B09", "B10", "B11", "B12"};
    for (const char* b : kBands) md.addOffset[b] = offsetOfBaseline(md.baseline);
    md.offsetFromBaseline = true;
  }
  return md;
}

}  // namespace cropmap
