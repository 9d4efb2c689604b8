// The pure parts of the synthetic region: MGRS geometry, acquisition calendar,
// parcels vs pixels, crop codes vs legends, DN encoding, and the SAFE metadata
// round trip through the parser the catalog uses.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <set>

#include "pipeline/legend.hpp"
#include "pipeline/s2_metadata.hpp"
#include "stages/synth/calendar.hpp"
#include "stages/synth/landscape.hpp"
#include "stages/synth/mgrs.hpp"
#include "stages/synth/safe_format.hpp"
#include "stages/synth/scene.hpp"
#include "tests/support/test_support.hpp"

using namespace cropmap;
using namespace cropmap::synth;

TEST(Mgrs, KnownTileCornersAndZones) {
  // Upper-left corners of real Sentinel-2 tiles (from their product georeferencing).
  struct Known {
    const char* id;
    int epsg;
    double ulx, uly;
  };
  const Known known[] = {{"31TCJ", 32631, 300000, 4900020}, {"31TDH", 32631, 399960, 4800000},
                         {"30TYN", 32630, 699960, 4800000}, {"32UPV", 32632, 600000, 5500020},
                         {"33UVP", 32633, 399960, 5400000}};
  for (const auto& k : known) {
    const MgrsTile t = decodeMgrsTile(k.id);
    EXPECT_EQ(t.epsg, k.epsg) << k.id;
    EXPECT_DOUBLE_EQ(t.ulx, k.ulx) << k.id;
    EXPECT_DOUBLE_EQ(t.uly, k.uly) << k.id;
  }
  EXPECT_EQ(decodeMgrsTile("55HBU").epsg, 32755);  // southern hemisphere
  EXPECT_THROW(decodeMgrsTile("33UIP"), std::invalid_argument);  // I is never a column letter
  EXPECT_THROW(decodeMgrsTile("33AVP"), std::invalid_argument);  // polar band
  EXPECT_THROW(decodeMgrsTile("61UVP"), std::invalid_argument);
  double lon, lat;
  const MgrsTile vienna = decodeMgrsTile("33UVP");
  approxLonLat(vienna, vienna.ulx + 54900, vienna.uly - 54900, lon, lat);
  EXPECT_NEAR(lat, 48.2, 0.3);  // 33UVP lies around Vienna / Lower Austria
  EXPECT_NEAR(lon, 14.4, 0.4);
}

TEST(Calendar, CivilDatesRoundTrip) {
  for (std::int64_t d = daysFromCivil(2015, 1, 1); d < daysFromCivil(2030, 1, 1); d += 37) {
    int y, m, dd;
    civilFromDays(d, y, m, dd);
    EXPECT_EQ(daysFromCivil(y, m, dd), d);
  }
  EXPECT_EQ(dayOfYear(daysFromCivil(2022, 12, 31)), 365);
  EXPECT_EQ(compactTime(daysFromCivil(2022, 1, 5), 10 * 3600 + 3 * 60 + 19), "20220105T100319");
}

TEST(Calendar, FiveDayRevisitPerOrbitAndBaselines) {
  const auto orbits = orbitsOver(16.0, 16.1, 48.0);
  ASSERT_FALSE(orbits.empty());
  const auto acq = acquisitionsFor(0, "33UWP", orbits, 2022, 48.0, 42, 0.0);
  for (size_t slot = 0; slot < orbits.size(); ++slot) {
    std::vector<std::int64_t> days;
    for (const auto& a : acq)
      if (a.orbitSlot == static_cast<int>(slot)) days.push_back(a.day);
    ASSERT_GE(days.size(), 72u);
    for (size_t i = 1; i < days.size(); ++i) EXPECT_EQ(days[i] - days[i - 1], 5);
  }
  for (const auto& a : acq) {
    EXPECT_EQ(a.year, 2022);
    EXPECT_EQ(a.hasOffset, a.day >= daysFromCivil(2022, 1, 25));
  }
  EXPECT_EQ(baselineOn(daysFromCivil(2018, 3, 1)), "02.06");
  EXPECT_EQ(baselineOn(daysFromCivil(2022, 1, 24)), "03.01");
  EXPECT_EQ(baselineOn(daysFromCivil(2022, 1, 25)), "04.00");
  // Different orbits (and so tiles) are imaged on different days.
  if (orbits.size() > 1) {
    std::set<std::int64_t> a, b;
    for (const auto& x : acq) (x.orbitSlot == 0 ? a : b).insert(x.day);
    for (auto d : a) EXPECT_EQ(b.count(d), 0u);
  }
  // Reprocessing gives old products the offset.
  const auto old = acquisitionsFor(0, "33UWP", orbits, 2019, 48.0, 42, 1.0);
  for (const auto& a : old) {
    EXPECT_EQ(a.baseline, "05.00");
    EXPECT_TRUE(a.hasOffset);
  }
}

TEST(Calendar, SceneCountSpreadsAcquisitionsOverTheYear) {
  const auto orbits = orbitsOver(16.0, 16.1, 48.0);
  const auto all = acquisitionsFor(0, "33UWP", orbits, 2022, 48.0, 42, 0.0);
  ASSERT_GE(all.size(), 72u);
  EXPECT_EQ(spreadAcquisitions(all, 0).size(), all.size());
  EXPECT_EQ(spreadAcquisitions(all, static_cast<int>(all.size()) + 5).size(), all.size());
  for (int count : {1, 6, 12, 13}) {
    const auto kept = spreadAcquisitions(all, count);
    ASSERT_EQ(kept.size(), static_cast<size_t>(count));
    for (size_t i = 1; i < kept.size(); ++i) EXPECT_LT(kept[i - 1].day, kept[i].day);
  }
  // 12 acquisitions of a year: one in every month.
  std::set<int> months;
  for (const auto& a : spreadAcquisitions(all, 12)) months.insert(a.month);
  EXPECT_EQ(months.size(), 12u);
  // The landscape keeps the count per tile.
  SynthParams p;
  p.tiles = {"33UWP"};
  p.size = 128;
  p.scenes = 6;
  EXPECT_EQ(Landscape(p).tiles().front().acquisitions.size(), 6u);
}

namespace {
bool insideRing(const Ring& r, double x, double y) {
  bool in = false;
  for (size_t i = 0, j = r.size() - 1; i < r.size(); j = i++) {
    const auto& a = r[i];
    const auto& b = r[j];
    if ((a.second > y) != (b.second > y) && x < (b.first - a.first) * (y - a.second) / (b.second - a.second) + a.first)
      in = !in;
  }
  return in;
}
SynthParams smallParams(const std::string& style, std::vector<std::string> tiles) {
  SynthParams p;
  p.tiles = std::move(tiles);
  p.size = 128;
  p.registerStyle = style;
  return p;
}
}  // namespace

TEST(Landscape, PixelsAndPolygonsAgree) {
  const Landscape land(smallParams("invekos", {"33UVP"}));
  const TileModel& t = land.tiles().front();
  ASSERT_GT(land.parcels().size(), 10u);
  int checked = 0, inParcels = 0;
  for (int r = 0; r < t.size; r += 3)
    for (int c = 0; c < t.size; c += 3) {
      const double x = t.x0 + (c + 0.5) * 10, y = t.y0 - (r + 0.5) * 10;
      const Site s = land.locate(t, x, y);
      for (size_t i = 0; i < land.parcels().size(); ++i) {
        const bool in = insideRing(land.parcels()[i].ring, x, y);
        if (in) {
          EXPECT_EQ(s.parcel, static_cast<int>(i)) << "pixel " << r << "," << c;
        }
        if (!in && s.parcel == static_cast<int>(i)) ADD_FAILURE() << "pixel " << r << "," << c << " outside its parcel";
      }
      ++checked;
      inParcels += s.parcel >= 0;
    }
  // Most of the land is farmland, but margins and roads are not.
  EXPECT_GT(inParcels, checked * 6 / 10);
  EXPECT_LT(inParcels, checked * 97 / 100);
  // Realistic sizes: mostly 0.5-20 ha, a few small slivers, none larger than a field block allows.
  std::vector<double> ha;
  for (const auto& p : land.parcels()) ha.push_back(p.area / 1e4);
  std::sort(ha.begin(), ha.end());
  EXPECT_GT(ha[ha.size() / 2], 1.0);
  EXPECT_LT(ha[ha.size() / 2], 10.0);
  EXPECT_LT(ha.back(), 25.0);
}

TEST(Landscape, OverlappingTilesShareParcels) {
  // 33UVP and 33UWP are neighbours in zone 33; a full-size area would overlap.
  // Here: same tile twice under different sizes gives the same ids for shared fields.
  SynthParams a = smallParams("invekos", {"33UVP"});
  SynthParams b = a;
  b.size = 192;
  const Landscape la(a), lb(b);
  const TileModel& ta = la.tiles().front();
  const TileModel& tb = lb.tiles().front();
  for (int r = 0; r < 128; r += 7)
    for (int c = 0; c < 128; c += 7) {
      const double x = ta.x0 + (c + 0.5) * 10, y = ta.y0 - (r + 0.5) * 10;
      const Site sa = la.locate(ta, x, y), sb = lb.locate(tb, x, y);
      ASSERT_EQ(sa.parcel >= 0, sb.parcel >= 0);
      if (sa.parcel >= 0) {
        const auto& pa = la.parcels()[static_cast<size_t>(sa.parcel)];
        const auto& pb = lb.parcels()[static_cast<size_t>(sb.parcel)];
        EXPECT_EQ(pa.code, pb.code);
        EXPECT_NEAR(pa.area, pb.area, 1e-6);
      }
    }
}

TEST(Crops, RegisterCodesMatchTheLegends) {
  for (const char* style : {"invekos", "rpg"}) {
    const RegisterStyle& rs = registerStyle(style);
    const Legend legend = Legend::load(test::sourcePath(rs.legendFile));
    int crops = 0, ignored = 0, unknown = 0;
    std::set<int> classes;
    for (const auto& c : rs.codes) {
      const int id = legend.classOf(c.code);
      switch (c.role) {
        case CodeRole::crop:
          EXPECT_GE(id, 0) << style << " " << c.code;
          classes.insert(id);
          ++crops;
          break;
        case CodeRole::ignored:
          EXPECT_EQ(id, Legend::kIgnored) << style << " " << c.code;
          ++ignored;
          break;
        case CodeRole::unknown:
          EXPECT_EQ(id, Legend::kUnknown) << style << " " << c.code;
          ++unknown;
          break;
      }
      EXPECT_NO_THROW(kindIndex(c.kind)) << c.kind;
    }
    EXPECT_GT(ignored, 0);
    EXPECT_GT(unknown, 0);
    // Every class of the legend occurs in the synthetic register.
    EXPECT_EQ(static_cast<int>(classes.size()), legend.numClasses()) << style;
  }
}

TEST(Crops, PhenologyHasTheExpectedShape) {
  const auto ndvi = [](const char* kind, double doy) {
    const CropKind& k = cropKinds()[static_cast<size_t>(kindIndex(kind))];
    const Spectrum s = mixSpectrum(k, coverAt(k, doy), 1.0);
    return (s[6] - s[2]) / (s[6] + s[2]);
  };
  EXPECT_GT(ndvi("winter_wheat", 140), 0.7);  // green in spring
  EXPECT_LT(ndvi("winter_wheat", 215), 0.3);  // harvested in July/August
  EXPECT_LT(ndvi("maize", 140), 0.3);         // bare in May
  EXPECT_GT(ndvi("maize", 215), 0.7);         // green in late summer
  EXPECT_GT(ndvi("meadow_3cut", 130), ndvi("meadow_3cut", 141) + 0.2);  // mowing dip
  EXPECT_GT(ndvi("meadow_3cut", 300), 0.5);   // green all year
}

TEST(Scene, DigitalNumbersFollowTheOffsetConvention) {
  EXPECT_EQ(toDn(0.1234, false), 1234);
  EXPECT_EQ(toDn(0.1234, true), 2234);
  EXPECT_EQ(toDn(-0.5, false), 1);  // 0 is reserved for no data
  EXPECT_EQ(toDn(9.0, true), 65535);
}

TEST(S2Metadata, ParsesBothMetadataVariants) {
  const std::string dir = test::scratchDir("s2_metadata");
  const MgrsTile tile = decodeMgrsTile("33UVP");
  const auto orbits = orbitsOver(14.3, 14.4, 48.2);
  SceneStats stats;
  stats.scl[4] = 70;
  stats.scl[9] = 30;
  for (int year : {2018, 2022}) {
    const auto acq = acquisitionsFor(0, tile.id, orbits, year, 48.2, 7, 0.0);
    for (const Acquisition* a : {&acq.front(), &acq.back()}) {
      const SafeNames n = safeNames(tile, *a);
      const std::string safe = dir + "/" + n.product;
      std::filesystem::create_directories(safe + "/GRANULE/" + n.granule + "/IMG_DATA/R10m");
      std::filesystem::create_directories(safe + "/GRANULE/" + n.granule + "/IMG_DATA/R20m");
      std::vector<SafeImage> images = {{"B02", 10}, {"B04", 10}, {"B8A", 20}, {"SCL", 20}};
      for (const auto& im : images)
        test::writeFile(safe + "/GRANULE/" + n.granule + "/" + bandFolder(im.resolution) + "/" +
                            bandFileStem(tile, *a, im.band, im.resolution) + ".jp2",
                        "x");
      test::writeFile(safe + "/MTD_MSIL2A.xml", productMetadataXml(tile, *a, images, stats));
      const S2ProductMetadata md = parseS2Metadata(safe + "/MTD_MSIL2A.xml");
      EXPECT_EQ(md.tile, "33UVP");
      EXPECT_EQ(md.baseline, a->baseline);
      EXPECT_EQ(md.date, a->dateCompact());
      EXPECT_EQ(md.relativeOrbit, a->relativeOrbit);
      EXPECT_DOUBLE_EQ(md.quantification, 10000.0);
      EXPECT_DOUBLE_EQ(md.offsetOf("B04"), a->hasOffset ? -1000.0 : 0.0);
      EXPECT_NEAR(md.cloudCover, 30.0, 1e-6);
      ASSERT_EQ(md.bands.size(), 4u);
      const S2BandFile* scl = md.find("SCL");
      ASSERT_NE(scl, nullptr);
      EXPECT_EQ(scl->resolution, 20);
      EXPECT_TRUE(std::filesystem::exists(scl->path)) << scl->path;
      ASSERT_NE(md.find("B8A"), nullptr);
      EXPECT_TRUE(std::filesystem::exists(md.find("B02", 10)->path));
      if (year == 2018 && a == &acq.front()) {
        EXPECT_TRUE(a->legacyNames);  // PSD 14.2: L2A_T33UVP_..._B02_10m.jp2
        EXPECT_EQ(std::filesystem::path(md.find("B02")->path).filename().string().rfind("L2A_T33UVP_", 0), 0u);
      }
    }
  }
  test::writeFile(dir + "/bad.xml", "<not-sentinel/>");
  EXPECT_THROW(parseS2Metadata(dir + "/bad.xml"), std::runtime_error);
}

// The catalog reads products through parseS2Metadata: damaged numbers are
// errors naming the file and the value, and a product without a start time
// takes its date from the product name.
TEST(S2Metadata, DamagedValuesAndDateFromProductName) {
  const std::string dir = test::scratchDir("s2_metadata_damaged");
  const MgrsTile tile = decodeMgrsTile("33UVP");
  const auto orbits = orbitsOver(14.3, 14.4, 48.2);
  const auto acq = acquisitionsFor(0, tile.id, orbits, 2022, 48.2, 7, 0.0);
  const Acquisition& a = acq.back();
  ASSERT_TRUE(a.hasOffset);
  SceneStats stats;
  stats.scl[4] = 100;
  const std::string xml = productMetadataXml(tile, a, {{"B02", 10}, {"SCL", 20}}, stats);
  auto variant = [&](const std::string& name, const std::string& from, const std::string& to) {
    std::string text = xml;
    const auto p = text.find(from);
    EXPECT_NE(p, std::string::npos) << from;
    if (p != std::string::npos) text.replace(p, from.size(), to);
    test::writeFile(dir + "/" + name, text);
    return dir + "/" + name;
  };
  auto errorOf = [](const std::string& file) -> std::string {
    try {
      parseS2Metadata(file);
    } catch (const std::runtime_error& e) {
      return e.what();
    }
    return "";
  };
  const std::string badOffset = variant("offset.xml", ">-1000<", ">-1OOO<");
  EXPECT_NE(errorOf(badOffset).find(badOffset + ": BOA_ADD_OFFSET '-1OOO'"), std::string::npos) << errorOf(badOffset);
  const std::string badQ = variant("q.xml", ">10000</BOA_QUANTIFICATION_VALUE>", ">ten thousand</BOA_QUANTIFICATION_VALUE>");
  EXPECT_NE(errorOf(badQ).find("BOA_QUANTIFICATION_VALUE 'ten thousand' is not a positive number"), std::string::npos)
      << errorOf(badQ);
  const std::string noStart = variant("nostart.xml", "<PRODUCT_START_TIME>", "<PRODUCT_START_TIME_REMOVED>");
  std::string fixed = test::readFile(noStart);
  const auto close = fixed.find("</PRODUCT_START_TIME>");
  ASSERT_NE(close, std::string::npos);
  fixed.replace(close, 21, "</PRODUCT_START_TIME_REMOVED>");
  test::writeFile(noStart, fixed);
  const S2ProductMetadata md = parseS2Metadata(noStart);
  EXPECT_EQ(md.date, a.dateCompact());
  EXPECT_EQ(md.isoDate().size(), 10u);
  EXPECT_EQ(md.isoDate().substr(0, 4), "2022");
}

// The baseline from names when the metadata lacks it: compact product names
// (N0509), old-format granule folders (N02.04), nothing in a bare band file.
TEST(S2Metadata, BaselineFromNames) {
  EXPECT_EQ(baselineFromName("S2B_MSIL2A_20220105T100319_N0509_R122_T33UVP_20240101T000000.SAFE"), "05.09");
  EXPECT_EQ(baselineFromName("/data/S2A_MSIL2A_20190105T100319_N0211_R122_T33UVP_20190105T120000.SAFE"), "02.11");
  EXPECT_EQ(baselineFromName("x.SAFE/GRANULE/S2A_USER_MSI_L2A_TL_SGS__20161205T120000_A007617_T33UVP_N02.04/"
                             "IMG_DATA/R10m/S2A_USER_MSI_L2A_TL_SGS__20161205T120000_A007617_T33UVP_B02_10m.jp2"),
            "02.04");
  EXPECT_EQ(baselineFromName("T33UVP_20220105T100319_B02_10m.jp2"), "");
  EXPECT_DOUBLE_EQ(offsetOfBaseline("04.00"), -1000.0);
  EXPECT_DOUBLE_EQ(offsetOfBaseline("05.10"), -1000.0);
  EXPECT_DOUBLE_EQ(offsetOfBaseline("02.14"), 0.0);
}
