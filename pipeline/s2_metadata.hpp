// Reading the product metadata of a Sentinel-2 L2A SAFE product.
//
// parseS2Metadata() reads MTD_MSIL2A.xml as ESA ships it and returns what a
// reader of the imagery needs: tile, sensing time, processing baseline, the
// quantification value and BOA_ADD_OFFSET (-1000 from baseline 04.00 on,
// absent before; from the baseline when the list is missing), and the band
// files with their resolution. It understands both metadata variants in the
// archive: PSD 14.5+ (Product_Info, Granule, IMAGE_FILE paths without extension) and PSD 14.2 of 2017/2018 products
// (L2A_Product_Info, Granules, IMAGE_ID_2A file stems, L2A_BOA_QUANTIFICATION_VALUE),
// and ignores XML namespaces and unknown elements.
#pragma once

#include <map>
#include <string>
#include <vector>

namespace cropmap {

struct S2BandFile {
  std::string band;  // "B02", "B8A", "SCL", "AOT", "TCI", ...
  int resolution = 0;  // metres: 10, 20 or 60
  std::string path;  // absolute or relative to the current directory, with extension
};

struct S2ProductMetadata {
  std::string metadataFile;  // the MTD_MSIL2A.xml read
  std::string productDir;    // the .SAFE directory
  std::string productUri;
  std::string tile;          // "33UVP"
  std::string sensingTime;   // ISO 8601 as in the file, e.g. 2022-01-05T10:03:19.024Z
  std::string date;          // YYYYMMDD of the sensing time (from PRODUCT_URI when the time is absent)
  std::string spacecraft;    // "Sentinel-2A"
  // The sensing date as YYYY-MM-DD.
  std::string isoDate() const { return date.substr(0, 4) + "-" + date.substr(4, 2) + "-" + date.substr(6, 2); }
  int relativeOrbit = 0;
  std::string baseline;      // "04.00"
  double quantification = 10000.0;  // BOA_QUANTIFICATION_VALUE
  std::map<std::string, double> addOffset;  // BOA_ADD_OFFSET by band ("B02" -> -1000); empty before 04.00
  bool offsetFromBaseline = false;  // no BOA_ADD_OFFSET list: the offset of the baseline was applied
  double cloudCover = -1.0;  // Cloud_Coverage_Assessment (%), -1 when absent
  std::vector<S2BandFile> bands;

  // reflectance = (DN + offset(band)) / quantification; offset 0 when absent.
  double offsetOf(const std::string& band) const {
    auto it = addOffset.find(band);
    return it == addOffset.end() ? 0.0 : it->second;
  }
  // The file of a band at the finest resolution available (or exactly `resolution` if > 0); null if none.
  const S2BandFile* find(const std::string& band, int resolution = 0) const;
};

// The processing baseline in a product, granule or file name ("04.00" from
// ..._N0400_..., "02.04" from an old-format granule ..._N02.04); "" if none.
std::string baselineFromName(const std::string& name);
// The BOA_ADD_OFFSET ESA applies from processing baseline 04.00 on: -1000, 0 before.
double offsetOfBaseline(const std::string& baseline);

// Throws std::runtime_error naming the file on unreadable or incomplete metadata.
// The baseline comes from PROCESSING_BASELINE, else from the product name; the
// offsets from BOA_ADD_OFFSET_VALUES_LIST, else from the baseline.
S2ProductMetadata parseS2Metadata(const std::string& mtdFile);

}  // namespace cropmap
