#include "coverage.hpp"

#include <ogr_api.h>
#include <ogr_geometry.h>
#include <ogr_spatialref.h>

#include <algorithm>
#include <cstdio>
#include <sstream>
#include <unordered_set>

#include "pipeline/gdal_io.hpp"
#include "pipeline/json.hpp"
#include "pipeline/log.hpp"
#include "stages/synth/mgrs.hpp"

namespace cropmap {

Coverage measureCoverage(ParcelSource& source, const std::vector<TileGrid>& tiles) {
  Coverage c;
  std::unordered_set<std::int64_t> seen;
  for (const auto& t : tiles) {
    const auto& g = t.geotransform;
    const double x0 = g[0], x1 = g[0] + t.width * g[1];
    const double y0 = g[3] + t.height * g[5], y1 = g[3];
    for (const Parcel& p : source.query(t, {std::min(x0, x1), std::min(y0, y1), std::max(x0, x1), std::max(y0, y1)})) {
      if (!seen.insert(p.fid).second) continue;
      const double area = p.geometry ? OGR_G_Area(OGRGeometry::ToHandle(p.geometry.get())) : 0.0;
      if (!p.geometry) ++c.noGeometry;
      if (p.cls >= 0) {
        c.labelled.add(area);
      } else if (p.cls == Legend::kIgnored) {
        c.ignored.add(area);
        c.ignoredCodes[p.code].add(area);
      } else {
        c.unknown.add(area);
        c.unknownCodes[p.code].add(area);
      }
    }
  }
  return c;
}

TileGrid tileGridOf(const std::string& id) {
  const synth::MgrsTile m = synth::decodeMgrsTile(id);
  TileGrid t;
  t.name = m.id;
  t.epsg = m.epsg;
  char* wkt = nullptr;
  gdal::srsFromEpsg(m.epsg)->exportToWkt(&wkt);
  t.crsWkt = wkt;
  CPLFree(wkt);
  t.geotransform = {m.ulx, 10.0, 0.0, m.uly, 0.0, -10.0};
  t.width = t.height = 10980;
  return t;
}

namespace {

std::vector<std::pair<std::string, CoverageCounts>> byParcels(const std::map<std::string, CoverageCounts>& m) {
  std::vector<std::pair<std::string, CoverageCounts>> v(m.begin(), m.end());
  std::stable_sort(v.begin(), v.end(), [](const auto& a, const auto& b) { return a.second.parcels > b.second.parcels; });
  return v;
}

double pct(double part, double whole) { return whole > 0 ? 100.0 * part / whole : 0.0; }

std::string countsJson(const CoverageCounts& k, const CoverageCounts& total) {
  char buf[200];
  std::snprintf(buf, sizeof buf, "{\"parcels\": %lld, \"area_ha\": %.4f, \"parcels_pct\": %.2f, \"area_pct\": %.2f}",
                static_cast<long long>(k.parcels), k.area_m2 / 1e4, pct(static_cast<double>(k.parcels), static_cast<double>(total.parcels)),
                pct(k.area_m2, total.area_m2));
  return buf;
}

std::string codesJson(const std::map<std::string, CoverageCounts>& m) {
  std::ostringstream js;
  js << "[";
  bool first = true;
  for (const auto& [code, k] : byParcels(m)) {
    char buf[100];
    std::snprintf(buf, sizeof buf, ", \"parcels\": %lld, \"area_ha\": %.4f}", static_cast<long long>(k.parcels), k.area_m2 / 1e4);
    js << (first ? "\n    " : ",\n    ") << "{\"code\": " << json::str(code) << buf;
    first = false;
  }
  js << (first ? "]" : "\n  ]");
  return js.str();
}

}  // namespace

std::string coverageJson(const Coverage& c, const std::string& register_, const std::string& legend,
                         const std::vector<std::string>& tiles) {
  const CoverageCounts t = c.total();
  std::ostringstream js;
  js << "{\n  \"register\": " << json::str(register_) << ",\n  \"legend\": " << json::str(legend)
     << ",\n  \"tiles\": " << json::list(tiles) << ",\n  \"parcels\": " << t.parcels << ",\n  \"area_ha\": "
     << json::num(t.area_m2 / 1e4) << ",\n  \"labelled\": " << countsJson(c.labelled, t)
     << ",\n  \"ignored\": " << countsJson(c.ignored, t) << ",\n  \"unknown\": " << countsJson(c.unknown, t)
     << ",\n  \"without_geometry\": " << c.noGeometry << ",\n  \"unknown_codes\": " << codesJson(c.unknownCodes)
     << ",\n  \"ignored_codes\": " << codesJson(c.ignoredCodes) << "\n}\n";
  return js.str();
}

void logCoverage(const Coverage& c, const Legend& legend, int top) {
  const CoverageCounts t = c.total();
  char buf[400];
  std::snprintf(buf, sizeof buf,
                "%lld parcels, %.1f ha: labelled %lld (%.1f %%) %.1f ha (%.1f %%); ignored %lld (%.1f %%) %.1f ha "
                "(%.1f %%); unknown %lld (%.1f %%) %.1f ha (%.1f %%)",
                static_cast<long long>(t.parcels), t.area_m2 / 1e4, static_cast<long long>(c.labelled.parcels),
                pct(double(c.labelled.parcels), double(t.parcels)), c.labelled.area_m2 / 1e4, pct(c.labelled.area_m2, t.area_m2),
                static_cast<long long>(c.ignored.parcels), pct(double(c.ignored.parcels), double(t.parcels)), c.ignored.area_m2 / 1e4,
                pct(c.ignored.area_m2, t.area_m2), static_cast<long long>(c.unknown.parcels),
                pct(double(c.unknown.parcels), double(t.parcels)), c.unknown.area_m2 / 1e4, pct(c.unknown.area_m2, t.area_m2));
  log::info("labels: legend coverage (", legend.file, "): ", buf);
  if (c.unknownCodes.empty()) return;
  std::string list;
  int n = 0;
  for (const auto& [code, k] : byParcels(c.unknownCodes)) {
    if (n++ == top) break;
    list += (list.empty() ? "" : ", ") + ("'" + code + "' x" + std::to_string(k.parcels));
  }
  const auto shown = std::min<std::size_t>(static_cast<std::size_t>(top), c.unknownCodes.size());
  const std::string msg = log::concat("labels: codes not in the legend ", legend.file, " (top ", shown, " of ",
                                      c.unknownCodes.size(), " by parcels): ", list);
  if (pct(double(c.unknown.parcels), double(t.parcels)) >= 5.0) log::warn(msg, "; add them to a class or to 'ignore'");
  else log::info(msg);
}

}  // namespace cropmap
