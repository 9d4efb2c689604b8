"""Opens one tile of a cropmap cube with xarray (h5netcdf engine) and checks
its CF coordinates and decoded values against GDAL's reading of the input
GeoTIFF scenes (one cloud-free scene per month, so a month's composite is
that scene). Also reads the cube through GDAL's multidimensional API and HDF5
subdataset syntax. Exit 0 when every check holds; failures are printed.

usage: cube_cf_check.py CUBE TILE GEOTIFF_DIR
"""
import glob
import os
import sys

import numpy as np
import xarray as xr
from osgeo import gdal, osr

gdal.UseExceptions()
cube, tile, tif_dir = sys.argv[1:4]
failures = []


def expect(cond, what):
    if not cond:
        failures.append(what)


ds = xr.open_dataset(cube, engine="h5netcdf", group="tiles/" + tile)
refl = ds["reflectance"]
expect(refl.dims == ("period", "band", "y", "x"), "reflectance dims %s" % (refl.dims,))
expect(ds["valid"].dims == ("period", "y", "x"), "valid dims %s" % (ds["valid"].dims,))
expect(np.issubdtype(ds["period"].dtype, np.datetime64), "period not decoded as time: %s" % ds["period"].dtype)
expect(str(ds["period"].values[0])[:10] == "2022-01-01", "first period %s" % ds["period"].values[0])
bounds = ds["period_bounds"].values
expect(str(bounds[0][1])[:10] == "2022-02-01", "first period ends %s" % bounds[0][1])
bands = [b.decode() if isinstance(b, bytes) else str(b) for b in ds["band"].values]
expect(bands == ["B02", "B03", "B04", "B08", "NDVI"], "bands %s" % bands)
expect(refl.attrs.get("grid_mapping") == "spatial_ref", "grid_mapping %s" % refl.attrs.get("grid_mapping"))
expect(refl.encoding.get("_FillValue") == 65535, "_FillValue %s" % refl.encoding.get("_FillValue"))
expect(abs(refl.encoding.get("scale_factor", 0) - 1e-4) < 1e-12, "scale_factor %s" % refl.encoding.get("scale_factor"))
expect(ds["label"].attrs.get("flag_meanings") if "label" in ds else True, "label flag_meanings")

# Coordinates: pixel centres of the input grid, as GDAL reads it.
files = sorted(glob.glob(os.path.join(tif_dir, tile + "_*_B04.tif")))
expect(len(files) == 12, "%d B04 scenes in %s" % (len(files), tif_dir))
first = gdal.Open(files[0])
gt = first.GetGeoTransform()
xs = gt[0] + (np.arange(first.RasterXSize) + 0.5) * gt[1]
ys = gt[3] + (np.arange(first.RasterYSize) + 0.5) * gt[5]
expect(np.array_equal(ds["x"].values, xs), "x coordinates differ from the input grid's pixel centres")
expect(np.array_equal(ds["y"].values, ys), "y coordinates differ from the input grid's pixel centres")
cube_srs = osr.SpatialReference(wkt=ds["spatial_ref"].attrs["crs_wkt"])
expect(cube_srs.IsSame(first.GetSpatialRef()) == 1, "crs_wkt is not the input's CRS")
expect(ds["spatial_ref"].attrs.get("grid_mapping_name") == "transverse_mercator",
       "grid_mapping_name %s" % ds["spatial_ref"].attrs.get("grid_mapping_name"))

# Values: the decoded reflectance of every month and band equals the scene's
# digital numbers as GDAL reads them, with the product's offset and scale.
compared = 0
for path in files:
    date = os.path.basename(path).split("_")[1]
    month = int(date[4:6])
    for b in ["B02", "B03", "B04", "B08"]:
        src = gdal.Open(path.replace("_B04.tif", "_%s.tif" % b))
        dn = src.GetRasterBand(1).ReadAsArray().astype(np.float64)
        md = src.GetMetadata()
        add = float(md.get("BOA_ADD_OFFSET", 0))
        quant = float(md.get("BOA_QUANTIFICATION_VALUE", 10000))
        want = (dn + add) / quant
        got = refl.sel(period="2022-%02d-01" % month, band=b).values
        if not np.allclose(got, want, atol=1e-6):
            failures.append("reflectance %s %s differs from GDAL by up to %g" % (date, b, np.nanmax(np.abs(got - want))))
        compared += got.size
expect(compared == 12 * 4 * first.RasterXSize * first.RasterYSize, "compared %d values" % compared)

# A pixel picked by map coordinates, the way users select it.
px = ds["reflectance"].sel(x=xs[5], y=ys[7], band="B08", period="2022-07-01").item()
expect(abs(px - refl.values[6, 3, 7, 5]) < 1e-12, "selection by coordinates")

# GDAL reads the cube too: the multidimensional API (any rank, with the
# dimension names of the scales) and the HDF5 subdataset syntax (up to 3-D).
stored = xr.open_dataset(cube, engine="h5netcdf", group="tiles/" + tile, mask_and_scale=False)
md = gdal.OpenEx(cube, gdal.OF_MULTIDIM_RASTER).GetRootGroup().OpenGroup("tiles").OpenGroup(tile)
arr = md.OpenMDArray("reflectance")
expect([d.GetName() for d in arr.GetDimensions()] == ["period", "band", "y", "x"], "GDAL multidim dimension names")
expect(np.array_equal(arr.ReadAsArray(), stored["reflectance"].values), "GDAL multidim reflectance values")
sub = gdal.Open('HDF5:"%s"://tiles/%s/valid' % (cube, tile))
expect(np.array_equal(sub.ReadAsArray(), stored["valid"].values), "HDF5 subdataset valid values")

if failures:
    print("FAILED:\n  " + "\n  ".join(failures))
    sys.exit(1)
print("cube %s tile %s: CF coordinates and %d values agree with GDAL" % (cube, tile, compared))
