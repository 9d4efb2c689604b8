// What the catalog needs from a Sentinel-2 L2A product's MTD_MSIL2A.xml:
// tile, sensing date, processing baseline, BOA quantification value and the
// per-band BOA_ADD_OFFSET (present from processing baseline 04.00 on, absent
// before). Kept apart from the catalog so that a shared metadata parser can
// replace it without touching the rest.
#pragma once

#include <map>
#include <string>

namespace cropmap {

struct ProductMetadata {
  std::string tile;      // e.g. 33UVP ("" when the file does not say)
  std::string date;      // sensing date, YYYY-MM-DD
  std::string baseline;  // e.g. "04.00" ("" when absent)
  double quantification = 10000;
  std::map<std::string, double> addOffset;  // band name (B02, B8A, ...) -> offset; empty before 04.00
  double offsetOf(const std::string& band) const {
    auto it = addOffset.find(band);
    return it == addOffset.end() ? 0.0 : it->second;
  }
};

// Parses the XML file; throws std::runtime_error naming the file and what is missing.
ProductMetadata readProductMetadata(const std::string& xmlPath);

// The standard band_id -> band name of Sentinel-2 MSI (0 -> B01 ... 8 -> B8A ... 12 -> B12).
std::string bandNameOfId(int bandId);

}  // namespace cropmap
