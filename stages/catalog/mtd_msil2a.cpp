#include "mtd_msil2a.hpp"

#include <cpl_minixml.h>

#include <cstdlib>
#include <cstring>
#include <memory>
#include <regex>
#include <stdexcept>

#include "pipeline/gdal_io.hpp"

namespace cropmap {

std::string bandNameOfId(int id) {
  static const char* names[] = {"B01", "B02", "B03", "B04", "B05", "B06", "B07",
                                "B08", "B8A", "B09", "B10", "B11", "B12"};
  if (id < 0 || id > 12) return "";
  return names[id];
}

namespace {

struct XmlFree {
  void operator()(CPLXMLNode* n) const { CPLDestroyXMLNode(n); }
};

// "B1" -> "B01", "B8A" -> "B8A", "B12" -> "B12"
std::string normaliseBand(const std::string& physical) {
  if (physical.size() == 2 && physical[0] == 'B') return std::string("B0") + physical[1];
  return physical;
}

// Depth-first search for an element among `first` and its siblings. (The
// parsed tree starts with the <?xml?> declaration, whose sibling is the
// product element, so a search from the declaration alone finds nothing.)
const CPLXMLNode* findElement(const CPLXMLNode* first, const char* name) {
  for (const CPLXMLNode* n = first; n; n = n->psNext) {
    if (n->eType != CXT_Element) continue;
    if (std::strcmp(n->pszValue, name) == 0) return n;
    if (const CPLXMLNode* found = findElement(n->psChild, name)) return found;
  }
  return nullptr;
}

// The text content of an element (its first text child; attributes are children too).
std::string textOf(const CPLXMLNode* n) {
  if (!n) return "";
  for (const CPLXMLNode* c = n->psChild; c; c = c->psNext)
    if (c->eType == CXT_Text && c->pszValue) return c->pszValue;
  return "";
}

}  // namespace

ProductMetadata readProductMetadata(const std::string& xmlPath) {
  gdal::ensureRegistered();
  std::unique_ptr<CPLXMLNode, XmlFree> root(CPLParseXMLFile(xmlPath.c_str()));
  if (!root) throw std::runtime_error(xmlPath + ": not readable as XML: " + gdal::lastError());
  CPLStripXMLNamespace(root.get(), nullptr, TRUE);
  ProductMetadata m;

  std::string start = textOf(findElement(root.get(), "PRODUCT_START_TIME"));
  if (start.empty()) start = textOf(findElement(root.get(), "DATATAKE_SENSING_START"));
  const std::string uri = textOf(findElement(root.get(), "PRODUCT_URI"));
  static const std::regex isoDate(R"((\d{4})-(\d{2})-(\d{2}))");
  static const std::regex compactDate(R"(_(\d{4})(\d{2})(\d{2})T\d{6})");
  std::smatch mm;
  if (std::regex_search(start, mm, isoDate)) m.date = mm[1].str() + "-" + mm[2].str() + "-" + mm[3].str();
  else if (std::regex_search(uri, mm, compactDate)) m.date = mm[1].str() + "-" + mm[2].str() + "-" + mm[3].str();
  else throw std::runtime_error(xmlPath + ": no sensing date (PRODUCT_START_TIME)");

  static const std::regex tileRe(R"(_T(\d{2}[A-Z]{3})_)");
  if (std::regex_search(uri, mm, tileRe)) m.tile = mm[1];
  if (m.tile.empty()) {
    // Older products: the tile appears in the granule's image file names.
    const CPLXMLNode* img = findElement(root.get(), "IMAGE_FILE");
    if (!img) img = findElement(root.get(), "IMAGE_FILE_2A");
    const std::string f = textOf(img);
    static const std::regex tileInFile(R"(T(\d{2}[A-Z]{3})_\d{8}T)");
    if (std::regex_search(f, mm, tileInFile)) m.tile = mm[1];
  }

  m.baseline = textOf(findElement(root.get(), "PROCESSING_BASELINE"));

  std::string q = textOf(findElement(root.get(), "BOA_QUANTIFICATION_VALUE"));
  if (q.empty()) q = textOf(findElement(root.get(), "L2A_BOA_QUANTIFICATION_VALUE"));
  if (!q.empty()) {
    char* end = nullptr;
    m.quantification = std::strtod(q.c_str(), &end);
    if (*end != '\0' || !(m.quantification > 0))
      throw std::runtime_error(xmlPath + ": BOA_QUANTIFICATION_VALUE '" + q + "' is not a positive number");
  }

  // band_id -> physical band name, from the product when it lists them.
  std::map<int, std::string> names;
  if (const CPLXMLNode* list = findElement(root.get(), "Spectral_Information_List")) {
    for (const CPLXMLNode* c = list->psChild; c; c = c->psNext) {
      if (c->eType != CXT_Element || std::string(c->pszValue) != "Spectral_Information") continue;
      const char* id = CPLGetXMLValue(c, "bandId", nullptr);
      const char* phys = CPLGetXMLValue(c, "physicalBand", nullptr);
      if (id && phys) names[std::atoi(id)] = normaliseBand(phys);
    }
  }
  if (const CPLXMLNode* list = findElement(root.get(), "BOA_ADD_OFFSET_VALUES_LIST")) {
    for (const CPLXMLNode* c = list->psChild; c; c = c->psNext) {
      if (c->eType != CXT_Element || std::string(c->pszValue) != "BOA_ADD_OFFSET") continue;
      const char* id = CPLGetXMLValue(c, "band_id", nullptr);
      if (!id) throw std::runtime_error(xmlPath + ": BOA_ADD_OFFSET without band_id");
      const int bid = std::atoi(id);
      const std::string band = names.count(bid) ? names[bid] : bandNameOfId(bid);
      const std::string v = textOf(c);
      char* end = nullptr;
      const double off = std::strtod(v.c_str(), &end);
      if (v.empty() || *end != '\0') throw std::runtime_error(xmlPath + ": BOA_ADD_OFFSET '" + v + "' is not a number");
      m.addOffset[band] = off;
    }
  }
  return m;
}

}  // namespace cropmap
