// Names and metadata of Sentinel-2 L2A SAFE products as ESA writes them.
//
// Products of baseline 02.07 and later use the compact naming of PSD 14.5
// (`T33UVP_20220105T100319_B02_10m.jp2`, `General_Info/Product_Info`); the
// older PSD 14.2 products (baseline 02.06) prefix band files with `L2A_` and
// use the `L2A_Product_Info` / `Granules` / `IMAGE_ID_2A` metadata variant.
// From baseline 04.00 on, MTD_MSIL2A.xml carries BOA_ADD_OFFSET = -1000.
#pragma once

#include <string>
#include <vector>

#include "calendar.hpp"
#include "mgrs.hpp"
#include "scene.hpp"

namespace cropmap::synth {

struct SafeNames {
  std::string product;  // S2A_MSIL2A_..._T33UVP_....SAFE
  std::string granule;  // L2A_T33UVP_A034123_20220105T100319
  std::string datastrip;
};
SafeNames safeNames(const MgrsTile& tile, const Acquisition& a);

// Band file stem (no extension) and its folder below the granule ("IMG_DATA/R10m").
std::string bandFileStem(const MgrsTile& tile, const Acquisition& a, const std::string& band, int resolution);
std::string bandFolder(int resolution);

struct SafeImage {
  std::string band;  // "B02", "SCL"
  int resolution;    // 10 or 20
};

// MTD_MSIL2A.xml text. `images` lists the files written; stats feed the QI section.
std::string productMetadataXml(const MgrsTile& tile, const Acquisition& a, const std::vector<SafeImage>& images,
                               const SceneStats& stats);
// GRANULE/<granule>/MTD_TL.xml: the tile's geocoding at 10 and 20 m.
std::string tileMetadataXml(const MgrsTile& tile, const Acquisition& a, int size10, const SceneStats& stats);

}  // namespace cropmap::synth
