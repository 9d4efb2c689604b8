#include "safe_format.hpp"

#include <cstdio>
#include <sstream>

namespace cropmap::synth {

namespace {
std::string fmt(const char* f, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, f, v);
  return buf;
}
std::string pad(int v, int width) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%0*d", width, v);
  return buf;
}
std::string baselineTag(const std::string& b) {  // "04.00" -> "N0400"
  return "N" + b.substr(0, 2) + b.substr(3, 2);
}
// All 13 bands of the product, as listed in Spectral_Information_List (band_id 0..12).
const char* kAllBands[13] = {"B1", "B2", "B3", "B4", "B5", "B6", "B7", "B8", "B8A", "B9", "B10", "B11", "B12"};
}  // namespace

SafeNames safeNames(const MgrsTile& tile, const Acquisition& a) {
  SafeNames n;
  const std::string sensing = a.sensingCompact();
  const std::string gen = compactTime(a.generationDay, a.generationSeconds);
  const std::string sat = std::string("S2") + a.satellite;
  n.product = sat + "_MSIL2A_" + sensing + "_" + baselineTag(a.baseline) + "_R" + pad(a.relativeOrbit, 3) + "_T" +
              tile.id + "_" + gen + ".SAFE";
  n.granule = "L2A_T" + tile.id + "_A" + pad(a.absoluteOrbit, 6) + "_" + sensing;
  n.datastrip = "DS_" + std::string(a.satellite == 'A' ? "2APS" : "2BPS") + "_" + gen + "_S" + sensing;
  return n;
}

std::string bandFolder(int resolution) { return "IMG_DATA/R" + std::to_string(resolution) + "m"; }

std::string bandFileStem(const MgrsTile& tile, const Acquisition& a, const std::string& band, int resolution) {
  const std::string stem = "T" + tile.id + "_" + a.sensingCompact() + "_" + band + "_" + std::to_string(resolution) + "m";
  return a.legacyNames ? "L2A_" + stem : stem;
}

std::string productMetadataXml(const MgrsTile& tile, const Acquisition& a, const std::vector<SafeImage>& images,
                               const SceneStats& st) {
  const SafeNames n = safeNames(tile, a);
  const bool legacy = a.legacyNames;
  const std::string start = isoTime(a.day, a.secondsOfDay, a.millis);
  const std::string stop = isoTime(a.day, a.secondsOfDay + 9, a.millis);
  const std::string gen = isoTime(a.generationDay, a.generationSeconds, 0);
  const std::string sat = std::string("Sentinel-2") + a.satellite;
  std::ostringstream x;
  x << "<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"no\"?>\n";
  x << "<n1:Level-2A_User_Product xmlns:n1=\"https://psd-14.sentinel2.eo.esa.int/PSD/User_Product_Level-2A.xsd\" xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\">\n";
  x << "  <n1:General_Info>\n";
  const std::string info = legacy ? "L2A_Product_Info" : "Product_Info";
  x << "    <" << info << ">\n";
  x << "      <PRODUCT_START_TIME>" << start << "</PRODUCT_START_TIME>\n";
  x << "      <PRODUCT_STOP_TIME>" << stop << "</PRODUCT_STOP_TIME>\n";
  x << "      <PRODUCT_URI" << (legacy ? "_2A" : "") << ">" << n.product << "</PRODUCT_URI" << (legacy ? "_2A" : "") << ">\n";
  x << "      <PROCESSING_LEVEL>Level-2A</PROCESSING_LEVEL>\n";
  x << "      <PRODUCT_TYPE>S2MSI2A</PRODUCT_TYPE>\n";
  x << "      <PROCESSING_BASELINE>" << a.baseline << "</PROCESSING_BASELINE>\n";
  x << "      <GENERATION_TIME>" << gen << "</GENERATION_TIME>\n";
  x << "      <PREVIEW_IMAGE_URL>Not applicable</PREVIEW_IMAGE_URL>\n";
  x << "      <PREVIEW_GEO_INFO>Not applicable</PREVIEW_GEO_INFO>\n";
  x << "      <Datatake datatakeIdentifier=\"GS2" << a.satellite << "_" << a.sensingCompact() << "_"
    << pad(a.absoluteOrbit, 6) << "_" << baselineTag(a.baseline).substr(0, 3) << "." << a.baseline.substr(3, 2)
    << "\">\n";
  x << "        <SPACECRAFT_NAME>" << sat << "</SPACECRAFT_NAME>\n";
  x << "        <DATATAKE_TYPE>INS-NOBS</DATATAKE_TYPE>\n";
  x << "        <DATATAKE_SENSING_START>" << start << "</DATATAKE_SENSING_START>\n";
  x << "        <SENSING_ORBIT_NUMBER>" << a.relativeOrbit << "</SENSING_ORBIT_NUMBER>\n";
  x << "        <SENSING_ORBIT_DIRECTION>DESCENDING</SENSING_ORBIT_DIRECTION>\n";
  x << "      </Datatake>\n";
  x << "      <Query_Options completeSingleTile=\"true\">\n";
  x << "        <PRODUCT_FORMAT>SAFE_COMPACT</PRODUCT_FORMAT>\n";
  x << "      </Query_Options>\n";
  const std::string org = legacy ? "L2A_Product_Organisation" : "Product_Organisation";
  x << "      <" << org << ">\n";
  x << "        <Granule_List>\n";
  const std::string granuleTag = legacy ? "Granules" : "Granule";
  x << "          <" << granuleTag << " datastripIdentifier=\"S2" << a.satellite << "_OPER_MSI_L2A_" << n.datastrip
    << "_" << baselineTag(a.baseline) << "\" granuleIdentifier=\"" << n.granule << "\" imageFormat=\"JPEG2000\">\n";
  for (const auto& im : images) {
    const std::string stem = bandFileStem(tile, a, im.band, im.resolution);
    if (legacy) x << "            <IMAGE_ID_2A>" << stem << "</IMAGE_ID_2A>\n";
    else
      x << "            <IMAGE_FILE>GRANULE/" << n.granule << "/" << bandFolder(im.resolution) << "/" << stem
        << "</IMAGE_FILE>\n";
  }
  x << "          </" << granuleTag << ">\n";
  x << "        </Granule_List>\n";
  x << "      </" << org << ">\n";
  x << "    </" << info << ">\n";
  x << "  </n1:General_Info>\n";
  const std::string ic = legacy ? "L2A_Product_Image_Characteristics" : "Product_Image_Characteristics";
  x << "  <n1:" << ic << ">\n";
  x << "    <Special_Values>\n      <SPECIAL_VALUE_TEXT>NODATA</SPECIAL_VALUE_TEXT>\n"
       "      <SPECIAL_VALUE_INDEX>0</SPECIAL_VALUE_INDEX>\n    </Special_Values>\n";
  x << "    <Special_Values>\n      <SPECIAL_VALUE_TEXT>SATURATED</SPECIAL_VALUE_TEXT>\n"
       "      <SPECIAL_VALUE_INDEX>65535</SPECIAL_VALUE_INDEX>\n    </Special_Values>\n";
  if (legacy) {
    x << "    <L1C_L2A_Quantification_Values_List>\n";
    x << "      <L1C_TOA_QUANTIFICATION_VALUE unit=\"none\">10000</L1C_TOA_QUANTIFICATION_VALUE>\n";
    x << "      <L2A_BOA_QUANTIFICATION_VALUE unit=\"none\">10000</L2A_BOA_QUANTIFICATION_VALUE>\n";
    x << "      <L2A_AOT_QUANTIFICATION_VALUE unit=\"none\">1000.0</L2A_AOT_QUANTIFICATION_VALUE>\n";
    x << "      <L2A_WVP_QUANTIFICATION_VALUE unit=\"cm\">1000.0</L2A_WVP_QUANTIFICATION_VALUE>\n";
    x << "    </L1C_L2A_Quantification_Values_List>\n";
  } else {
    x << "    <QUANTIFICATION_VALUES_LIST>\n";
    x << "      <BOA_QUANTIFICATION_VALUE unit=\"none\">10000</BOA_QUANTIFICATION_VALUE>\n";
    x << "      <AOT_QUANTIFICATION_VALUE unit=\"none\">1000.0</AOT_QUANTIFICATION_VALUE>\n";
    x << "      <WVP_QUANTIFICATION_VALUE unit=\"cm\">1000.0</WVP_QUANTIFICATION_VALUE>\n";
    x << "    </QUANTIFICATION_VALUES_LIST>\n";
    if (a.hasOffset) {
      x << "    <BOA_ADD_OFFSET_VALUES_LIST>\n";
      for (int b = 0; b < 13; ++b) x << "      <BOA_ADD_OFFSET band_id=\"" << b << "\">-1000</BOA_ADD_OFFSET>\n";
      x << "    </BOA_ADD_OFFSET_VALUES_LIST>\n";
    }
  }
  x << "    <Spectral_Information_List>\n";
  for (int b = 0; b < 13; ++b)
    x << "      <Spectral_Information bandId=\"" << b << "\" physicalBand=\"" << kAllBands[b] << "\"/>\n";
  x << "    </Spectral_Information_List>\n";
  x << "  </n1:" << ic << ">\n";
  const double cloud = st.percent({8, 9, 10}, false);
  x << "  <n1:Quality_Indicators_Info>\n";
  x << "    <Cloud_Coverage_Assessment>" << fmt("%.6f", cloud) << "</Cloud_Coverage_Assessment>\n";
  x << "    <Image_Content_QI>\n";
  x << "      <NODATA_PIXEL_PERCENTAGE>" << fmt("%.6f", st.percent({0}, false)) << "</NODATA_PIXEL_PERCENTAGE>\n";
  x << "      <CLOUDY_PIXEL_PERCENTAGE>" << fmt("%.6f", st.percent({8, 9, 10})) << "</CLOUDY_PIXEL_PERCENTAGE>\n";
  x << "      <CLOUD_SHADOW_PERCENTAGE>" << fmt("%.6f", st.percent({3})) << "</CLOUD_SHADOW_PERCENTAGE>\n";
  x << "      <VEGETATION_PERCENTAGE>" << fmt("%.6f", st.percent({4})) << "</VEGETATION_PERCENTAGE>\n";
  x << "      <NOT_VEGETATED_PERCENTAGE>" << fmt("%.6f", st.percent({5})) << "</NOT_VEGETATED_PERCENTAGE>\n";
  x << "      <WATER_PERCENTAGE>" << fmt("%.6f", st.percent({6})) << "</WATER_PERCENTAGE>\n";
  x << "      <UNCLASSIFIED_PERCENTAGE>" << fmt("%.6f", st.percent({7})) << "</UNCLASSIFIED_PERCENTAGE>\n";
  x << "      <MEDIUM_PROBA_CLOUDS_PERCENTAGE>" << fmt("%.6f", st.percent({8})) << "</MEDIUM_PROBA_CLOUDS_PERCENTAGE>\n";
  x << "      <HIGH_PROBA_CLOUDS_PERCENTAGE>" << fmt("%.6f", st.percent({9})) << "</HIGH_PROBA_CLOUDS_PERCENTAGE>\n";
  x << "      <THIN_CIRRUS_PERCENTAGE>" << fmt("%.6f", st.percent({10})) << "</THIN_CIRRUS_PERCENTAGE>\n";
  x << "      <SNOW_ICE_PERCENTAGE>0.000000</SNOW_ICE_PERCENTAGE>\n";
  x << "    </Image_Content_QI>\n";
  x << "  </n1:Quality_Indicators_Info>\n";
  x << "</n1:Level-2A_User_Product>\n";
  return x.str();
}

std::string tileMetadataXml(const MgrsTile& tile, const Acquisition& a, int size10, const SceneStats& st) {
  const SafeNames n = safeNames(tile, a);
  std::ostringstream x;
  x << "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
  x << "<n1:Level-2A_Tile_ID xmlns:n1=\"https://psd-14.sentinel2.eo.esa.int/PSD/S2_PDI_Level-2A_Tile_Metadata.xsd\">\n";
  x << "  <n1:General_Info>\n";
  x << "    <TILE_ID>S2" << a.satellite << "_OPER_MSI_L2A_TL_" << n.datastrip.substr(3) << "_A" << pad(a.absoluteOrbit, 6)
    << "_T" << tile.id << "_" << baselineTag(a.baseline) << "</TILE_ID>\n";
  x << "    <SENSING_TIME>" << isoTime(a.day, a.secondsOfDay, a.millis) << "</SENSING_TIME>\n";
  x << "  </n1:General_Info>\n";
  x << "  <n1:Geometric_Info>\n    <Tile_Geocoding>\n";
  x << "      <HORIZONTAL_CS_NAME>WGS84 / UTM zone " << tile.zone << (tile.north ? "N" : "S") << "</HORIZONTAL_CS_NAME>\n";
  x << "      <HORIZONTAL_CS_CODE>EPSG:" << tile.epsg << "</HORIZONTAL_CS_CODE>\n";
  for (int res : {10, 20}) {
    const int n10 = size10 * 10 / res;
    x << "      <Size resolution=\"" << res << "\">\n        <NROWS>" << n10 << "</NROWS>\n        <NCOLS>" << n10
      << "</NCOLS>\n      </Size>\n";
  }
  for (int res : {10, 20}) {
    x << "      <Geoposition resolution=\"" << res << "\">\n        <ULX>" << fmt("%.0f", tile.ulx) << "</ULX>\n        <ULY>"
      << fmt("%.0f", tile.uly) << "</ULY>\n        <XDIM>" << res << "</XDIM>\n        <YDIM>-" << res
      << "</YDIM>\n      </Geoposition>\n";
  }
  x << "    </Tile_Geocoding>\n  </n1:Geometric_Info>\n";
  x << "  <n1:Quality_Indicators_Info>\n    <Image_Content_QI>\n";
  x << "      <NODATA_PIXEL_PERCENTAGE>" << fmt("%.6f", st.percent({0}, false)) << "</NODATA_PIXEL_PERCENTAGE>\n";
  x << "      <CLOUDY_PIXEL_PERCENTAGE>" << fmt("%.6f", st.percent({8, 9, 10})) << "</CLOUDY_PIXEL_PERCENTAGE>\n";
  x << "    </Image_Content_QI>\n  </n1:Quality_Indicators_Info>\n";
  x << "</n1:Level-2A_Tile_ID>\n";
  return x.str();
}

}  // namespace cropmap::synth
