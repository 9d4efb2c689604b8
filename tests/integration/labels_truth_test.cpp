// `cropmap labels` against the truth rasters of `cropmap synth`: the parcel
// and class layers (erosion 0) must reproduce truth/<tile>/parcel.tif and
// class.tif, which synth draws from the analytic field layout it also writes,
// reprojected, into the EPSG:31287 register. With erosion 1 every labelled
// pixel must be a truth pixel whose 3 x 3 neighbourhood is one parcel.
#include <gdal_priv.h>
#include <gtest/gtest.h>
#include <hdf5.h>

#include "tests/support/test_support.hpp"

using namespace cropmap::test;

namespace {

template <class T>
std::vector<T> readCube(const std::string& file, const std::string& path, hid_t type) {
  hid_t f = H5Fopen(file.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
  EXPECT_GE(f, 0) << file;
  hid_t d = H5Dopen2(f, path.c_str(), H5P_DEFAULT);
  EXPECT_GE(d, 0) << path;
  hid_t s = H5Dget_space(d);
  std::vector<T> v(static_cast<size_t>(H5Sget_simple_extent_npoints(s)));
  EXPECT_GE(H5Dread(d, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, v.data()), 0);
  H5Sclose(s);
  H5Dclose(d);
  H5Fclose(f);
  return v;
}

template <class T>
std::vector<T> readTif(const std::string& path, GDALDataType type, int& n) {
  GDALAllRegister();
  GDALDatasetUniquePtr ds(GDALDataset::Open(path.c_str(), GDAL_OF_RASTER | GDAL_OF_READONLY));
  EXPECT_TRUE(ds) << path;
  n = ds->GetRasterXSize();
  std::vector<T> v(static_cast<size_t>(n) * n);
  EXPECT_EQ(ds->GetRasterBand(1)->RasterIO(GF_Read, 0, 0, n, n, v.data(), n, n, type, 0, 0, nullptr), CE_None);
  return v;
}

}  // namespace

TEST(LabelsTruth, RasterizationReproducesTheSyntheticTruth) {
  const std::string d = scratchDir("labels_truth");
  writeFile(d + "/config.yaml",
            "run: {name: truth, output: " + d + ", seed: 3}\n"
            "synth: {enabled: true, output: synth, tiles: [33UVP], size: 128, year: 2022, layout: geotiff,\n"
            "        register_style: invekos, cloud_cover: 0.2, regions: 2, zones_per_region: 3}\n"
            "inputs: {geotiff: [" + d + "/synth/geotiff], bands: [B04, B08]}\n"
            "composite: {period: month, year: 2022, block_size: 64, chunk: 32}\n"
            "labels: {parcels: " + d + "/synth/parcels.gpkg, code_field: SNAR_CODE, id_field: GEO_ID,\n"
            "         legend: " + sourcePath("configs/legends/austria.yaml") + ", erosion_px: 0}\n");
  const std::string cfg = " --config " + d + "/config.yaml";
  for (const char* stage : {"synth", "composite", "labels"}) {
    const auto r = runCropmapMpi(2, std::string(stage) + cfg);
    ASSERT_EQ(r.exitCode, 0) << stage << "\n" << r.output;
  }
  int n = 0;
  const auto truthParcel = readTif<std::int32_t>(d + "/synth/truth/33UVP/parcel.tif", GDT_Int32, n);
  const auto truthClass = readTif<std::int16_t>(d + "/synth/truth/33UVP/class.tif", GDT_Int16, n);
  const auto parcel = readCube<std::int64_t>(d + "/cube.h5", "/tiles/33UVP/parcel", H5T_NATIVE_INT64);
  const auto label = readCube<std::int16_t>(d + "/cube.h5", "/tiles/33UVP/label", H5T_NATIVE_INT16);
  ASSERT_EQ(parcel.size(), truthParcel.size());
  std::int64_t compared = 0, parcelDiff = 0, classDiff = 0;
  for (size_t i = 0; i < parcel.size(); ++i) {
    if (truthClass[i] < 0) {
      // Ignored, unknown or no parcel in truth: nothing labelled here.
      EXPECT_EQ(label[i], -1) << "pixel " << i;
      continue;
    }
    ++compared;
    parcelDiff += parcel[i] != truthParcel[i];
    classDiff += label[i] != truthClass[i];
  }
  EXPECT_GT(compared, n * n / 3);
  // Pixel centres within millimetres of a field edge may fall either way after
  // the register's round trip through EPSG:31287: allow 0.1 %.
  EXPECT_LE(parcelDiff, compared / 1000) << parcelDiff << " of " << compared;
  EXPECT_LE(classDiff, compared / 1000) << classDiff << " of " << compared;

  // Erosion 1: a labelled pixel has its whole 3 x 3 neighbourhood in its truth parcel.
  const auto r = runCropmapMpi(2, "labels" + cfg + " --set labels.erosion_px=1");
  ASSERT_EQ(r.exitCode, 0) << r.output;
  const auto eroded = readCube<std::int64_t>(d + "/cube.h5", "/tiles/33UVP/parcel", H5T_NATIVE_INT64);
  std::int64_t kept = 0, bad = 0;
  for (int y = 1; y + 1 < n; ++y)
    for (int x = 1; x + 1 < n; ++x) {
      const size_t i = static_cast<size_t>(y) * n + x;
      if (!eroded[i]) continue;
      ++kept;
      for (int dy = -1; dy <= 1; ++dy)
        for (int dx = -1; dx <= 1; ++dx) bad += truthParcel[static_cast<size_t>(y + dy) * n + x + dx] != eroded[i];
    }
  EXPECT_GT(kept, compared / 3);
  EXPECT_LE(bad, kept / 1000);
}
