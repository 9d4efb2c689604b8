#include "landscape.hpp"

#include <algorithm>
#include <cmath>
#include <map>
#include <stdexcept>
#include <tuple>

#include "noise.hpp"

namespace cropmap::synth {

double ringArea(const Ring& r) {
  double a = 0;
  for (size_t i = 0, n = r.size(); i < n; ++i) {
    const auto& p = r[i];
    const auto& q = r[(i + 1) % n];
    a += p.first * q.second - q.first * p.second;
  }
  return 0.5 * a;
}

Ring clipHalfPlane(const Ring& r, double a, double b, double c) {
  Ring out;
  const size_t n = r.size();
  for (size_t i = 0; i < n; ++i) {
    const auto& p = r[i];
    const auto& q = r[(i + 1) % n];
    const double fp = a * p.first + b * p.second + c;
    const double fq = a * q.first + b * q.second + c;
    if (fp >= 0) out.push_back(p);
    if ((fp >= 0) != (fq >= 0)) {
      const double t = fp / (fp - fq);
      out.emplace_back(p.first + t * (q.first - p.first), p.second + t * (q.second - p.second));
    }
  }
  return out;
}

namespace {

constexpr double kMaxGap = 9.0;  // largest half-width of a gap between fields (a road)

std::uint64_t cellKey(std::int64_t cx, std::int64_t cy) {
  return (static_cast<std::uint64_t>(cx) << 32) ^ static_cast<std::uint64_t>(cy & 0xffffffff);
}

// Seed of a cell: jittered by at most 0.3 of the spacing, which keeps the
// nearest seed of any point within the 3x3 cells around it.
std::pair<double, double> seedOf(std::uint64_t seed, int zone, std::int64_t cx, std::int64_t cy, double S) {
  const std::uint64_t h = hashKeys({seed, keyOf("field-seed"), static_cast<std::uint64_t>(zone), cellKey(cx, cy)});
  const double u = unitFrom(h), v = unitFrom(mix64(h));
  return {(cx + 0.5 + 0.6 * (u - 0.5)) * S, (cy + 0.5 + 0.6 * (v - 0.5)) * S};
}

}  // namespace

double Landscape::gapHalfWidth(int zone, std::int64_t ax, std::int64_t ay, std::int64_t bx, std::int64_t by) const {
  std::uint64_t ka = cellKey(ax, ay), kb = cellKey(bx, by);
  if (ka > kb) std::swap(ka, kb);
  const double u = unitFrom(hashKeys({params_.seed, keyOf("gap"), static_cast<std::uint64_t>(zone), ka, kb}));
  // Most boundaries are field margins (4-8 m between parcels), some are roads.
  return u < 0.7 ? 2.0 + 2.0 * (u / 0.7) : 5.0 + (kMaxGap - 5.0) * ((u - 0.7) / 0.3);
}

Ring Landscape::cellPolygon(const TileModel& t, std::int64_t cx, std::int64_t cy) const {
  const double S = params_.fieldSize;
  const int zone = t.mgrs.zone;
  const auto [sx, sy] = seedOf(params_.seed, zone, cx, cy, S);
  // Local coordinates around the seed keep the clipping exact to well below a millimetre.
  Ring r = {{-2 * S, -2 * S}, {2 * S, -2 * S}, {2 * S, 2 * S}, {-2 * S, 2 * S}};
  for (int dy = -2; dy <= 2; ++dy)
    for (int dx = -2; dx <= 2; ++dx) {
      if (!dx && !dy) continue;
      const auto [kx, ky] = seedOf(params_.seed, zone, cx + dx, cy + dy, S);
      const double ddx = kx - sx, ddy = ky - sy, L = std::hypot(ddx, ddy);
      const double g = gapHalfWidth(zone, cx, cy, cx + dx, cy + dy);
      // distance to the bisector, on our side: (L^2 - 2 q.d) / (2L) >= g
      r = clipHalfPlane(r, -ddx / L, -ddy / L, L / 2 - g);
    }
  for (auto& p : r) {
    p.first += sx;
    p.second += sy;
  }
  return r;
}

Landscape::Landscape(SynthParams params) : params_(std::move(params)), style_(&registerStyle(params_.registerStyle)) {
  if (params_.tiles.empty()) throw std::invalid_argument("synth.tiles: at least one tile is needed");
  for (size_t i = 0; i < params_.tiles.size(); ++i) {
    TileModel t;
    t.index = static_cast<int>(i);
    t.mgrs = decodeMgrsTile(params_.tiles[i]);
    t.size = params_.size;
    buildTile(t);
    tiles_.push_back(std::move(t));
  }
}

void Landscape::buildTile(TileModel& t) {
  const SynthParams& p = params_;
  const double S = p.fieldSize, ext = t.extent();
  t.x0 = t.mgrs.ulx;
  t.y0 = t.mgrs.uly;

  // Geography for orbits and sun: the centre and how longitude varies over the area.
  const double xc = t.x0 + ext / 2, yc = t.y0 - ext / 2;
  double lon1, lat1, lonE, latE, lonN, latN;
  approxLonLat(t.mgrs, xc, yc, lon1, lat1);
  approxLonLat(t.mgrs, xc + 1000, yc, lonE, latE);
  approxLonLat(t.mgrs, xc, yc + 1000, lonN, latN);
  t.lonCentre = lon1;
  t.latCentre = lat1;
  t.dLonDx = (lonE - lon1) / 1000.0;
  t.dLonDy = (lonN - lon1) / 1000.0;
  double lonW = 1e9, lonEast = -1e9;
  for (double cxr : {t.x0, t.x0 + ext})
    for (double cyr : {t.y0, t.y0 - ext}) {
      const double l = t.lonAt(cxr, cyr);
      lonW = std::min(lonW, l);
      lonEast = std::max(lonEast, l);
    }
  t.orbits = orbitsOver(lonW, lonEast, t.latCentre);
  if (t.orbits.empty())
    throw std::runtime_error("tile " + t.mgrs.id + ": no Sentinel-2 orbit covers it in the synthetic orbit model");
  t.acquisitions = spreadAcquisitions(
      acquisitionsFor(t.index, t.mgrs.id, t.orbits, p.year, t.latCentre, p.seed, p.reprocessedShare), p.scenes);

  // Months with a persistent cloud deck over part of the tile: drawn without replacement.
  {
    Rng rng(hashKeys({p.seed, keyOf("cloudy-months"), keyOf(t.mgrs.id.c_str()), static_cast<std::uint64_t>(p.year)}));
    std::vector<int> months = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};
    for (int i = 0; i < p.cloudyMonths && !months.empty(); ++i) {
      const int k = rng.below(static_cast<int>(months.size()));
      t.cloudyMonths.push_back(months[static_cast<size_t>(k)]);
      months.erase(months.begin() + k);
    }
    std::sort(t.cloudyMonths.begin(), t.cloudyMonths.end());
  }

  // Cells around the area.
  t.cx0 = static_cast<std::int64_t>(std::floor(t.x0 / S)) - 3;
  t.cy0 = static_cast<std::int64_t>(std::floor((t.y0 - ext) / S)) - 3;
  t.ncx = static_cast<int>(static_cast<std::int64_t>(std::floor((t.x0 + ext) / S)) + 3 - t.cx0 + 1);
  t.ncy = static_cast<int>(static_cast<std::int64_t>(std::floor(t.y0 / S)) + 3 - t.cy0 + 1);
  t.cells.assign(static_cast<size_t>(t.ncx) * static_cast<size_t>(t.ncy), Cell{});
  const int zone = t.mgrs.zone;
  const double fieldAngle = unitFrom(hashKeys({p.seed, keyOf("field-angle"), static_cast<std::uint64_t>(zone)})) * M_PI;
  const int kForest = kindIndex("forest"), kWater = kindIndex("water"), kSettlement = kindIndex("settlement");
  const int kRoad = kindIndex("road");
  (void)kRoad;

  // Register codes by cumulative share.
  std::vector<double> cum;
  double total = 0;
  for (const auto& c : style_->codes) cum.push_back(total += c.share);

  std::map<std::tuple<int, std::int64_t, std::int64_t, int>, int> known;  // parcels already listed
  for (const auto& par : parcels_)
    if (tiles_[static_cast<size_t>(par.tile)].mgrs.zone == zone) known[{zone, par.cx, par.cy, par.strip}] = static_cast<int>(&par - parcels_.data());

  // North to south, west to east: the order that numbers the parcels.
  for (int j = t.ncy - 1; j >= 0; --j)
    for (int i = 0; i < t.ncx; ++i) {
      const std::int64_t cx = t.cx0 + i, cy = t.cy0 + j;
      Cell& c = t.cells[static_cast<size_t>(j) * static_cast<size_t>(t.ncx) + static_cast<size_t>(i)];
      std::tie(c.sx, c.sy) = seedOf(p.seed, zone, cx, cy, S);
      Rng rng(hashKeys({p.seed, keyOf("cell"), static_cast<std::uint64_t>(zone), cellKey(cx, cy)}));
      const double u = rng.uniform();
      if (u < 0.04) c.background = kForest;
      else if (u < 0.055) c.background = kWater;
      else if (u < 0.08) c.background = kSettlement;
      const double theta = fieldAngle + 0.25 * rng.normal();
      c.nx = std::cos(theta);
      c.ny = std::sin(theta);
      const double us = rng.uniform();
      c.strips = us < 0.55 ? 1 : us < 0.85 ? 2 : us < 0.95 ? 3 : 4;
      c.stripGap = rng.uniform(1.5, 3.0);
      const bool sliver = c.strips > 1 && rng.uniform() < 0.15;
      // Cells whose neighbourhood leaves the table are never reached by a pixel.
      const bool inner = i >= 2 && j >= 2 && i < t.ncx - 2 && j < t.ncy - 2;
      if (!inner || c.background >= 0) continue;
      const Ring poly = cellPolygon(t, cx, cy);
      if (poly.size() < 3) continue;
      if (c.strips > 1) {
        double tmin = 1e18, tmax = -1e18;
        for (const auto& q : poly) {
          const double tt = (q.first - c.sx) * c.nx + (q.second - c.sy) * c.ny;
          tmin = std::min(tmin, tt);
          tmax = std::max(tmax, tt);
        }
        std::vector<double> f;
        for (int k = 0; k < c.strips - 1; ++k) f.push_back(rng.uniform(0.15, 0.85));
        std::sort(f.begin(), f.end());
        for (int k = 0; k < c.strips - 1; ++k) c.cuts[static_cast<size_t>(k)] = tmin + f[static_cast<size_t>(k)] * (tmax - tmin);
        if (sliver) c.cuts[0] = tmin + rng.uniform(12.0, 28.0);  // a narrow strip along the cell's edge
        for (int k = 1; k < c.strips - 1; ++k)
          c.cuts[static_cast<size_t>(k)] = std::max(c.cuts[static_cast<size_t>(k)], c.cuts[static_cast<size_t>(k - 1)] + 10.0);
      }
      for (int m = 0; m < c.strips; ++m) {
        Ring r = poly;
        // t = (x - sx) nx + (y - sy) ny; strip m spans [cut[m-1] + g, cut[m] - g]
        if (m > 0) {
          const double lo = c.cuts[static_cast<size_t>(m - 1)] + c.stripGap;
          r = clipHalfPlane(r, c.nx, c.ny, -(c.sx * c.nx + c.sy * c.ny) - lo);
        }
        if (m < c.strips - 1) {
          const double hi = c.cuts[static_cast<size_t>(m)] - c.stripGap;
          r = clipHalfPlane(r, -c.nx, -c.ny, (c.sx * c.nx + c.sy * c.ny) + hi);
        }
        if (r.size() < 3 || ringArea(r) < 1.0) continue;
        Ring inArea = clipHalfPlane(r, 1, 0, -t.x0);
        inArea = clipHalfPlane(inArea, -1, 0, t.x0 + ext);
        inArea = clipHalfPlane(inArea, 0, -1, t.y0);
        inArea = clipHalfPlane(inArea, 0, 1, -(t.y0 - ext));
        if (inArea.size() < 3 || ringArea(inArea) < 1.0) continue;
        auto found = known.find({zone, cx, cy, m});
        if (found != known.end()) {
          c.parcel[static_cast<size_t>(m)] = found->second;
          continue;
        }
        Parcel par;
        par.id = static_cast<std::int64_t>(parcels_.size()) + 1;
        par.tile = t.index;
        par.cx = cx;
        par.cy = cy;
        par.strip = m;
        par.area = ringArea(r);
        par.ring = std::move(r);
        Rng pr(hashKeys({p.seed, keyOf("parcel"), static_cast<std::uint64_t>(zone), cellKey(cx, cy),
                         static_cast<std::uint64_t>(m)}));
        const double pick = pr.uniform() * total;
        par.code = static_cast<int>(std::upper_bound(cum.begin(), cum.end(), pick) - cum.begin());
        par.code = std::min(par.code, static_cast<int>(style_->codes.size()) - 1);
        const RegisterCode& rc = style_->codes[static_cast<size_t>(par.code)];
        par.kind = kindIndex(rc.kind);
        par.role = rc.role;
        double gx = 0, gy = 0;
        for (const auto& q : inArea) {
          gx += q.first;
          gy += q.second;
        }
        gx /= static_cast<double>(inArea.size());
        gy /= static_cast<double>(inArea.size());
        const double yfrac = std::clamp((t.y0 - gy) / ext, 0.0, 1.0);
        // The south of every area is ahead of its north (a regional gradient).
        par.shift = -p.regionalShiftDays * (yfrac - 0.5) + cropKinds()[static_cast<size_t>(par.kind)].shiftSpread * pr.normal();
        par.vigour = std::clamp(1.0 + 0.07 * pr.normal(), 0.75, 1.15);
        par.soil = pr.uniform(0.8, 1.2);
        std::tie(par.region, par.zone) = regionZone(t, gx, gy);
        known[{zone, cx, cy, m}] = static_cast<int>(parcels_.size());
        c.parcel[static_cast<size_t>(m)] = static_cast<int>(parcels_.size());
        parcels_.push_back(std::move(par));
      }
    }
}

std::pair<int, int> Landscape::regionZone(const TileModel& t, double x, double y) const {
  const double ext = t.extent();
  const int r = std::clamp(static_cast<int>(std::floor((t.y0 - y) / ext * params_.regions)), 0, params_.regions - 1);
  const int z =
      std::clamp(static_cast<int>(std::floor((x - t.x0) / ext * params_.zonesPerRegion)), 0, params_.zonesPerRegion - 1);
  return {r, z};
}

Site Landscape::locate(const TileModel& t, double x, double y) const {
  static const int kRoad = kindIndex("road");
  const double S = params_.fieldSize;
  const std::int64_t cx = static_cast<std::int64_t>(std::floor(x / S));
  const std::int64_t cy = static_cast<std::int64_t>(std::floor(y / S));
  std::int64_t bx = cx, by = cy;
  double best = 1e300;
  for (int dy = -1; dy <= 1; ++dy)
    for (int dx = -1; dx <= 1; ++dx) {
      const Cell& c = cellAt(t, cx + dx, cy + dy);
      const double d2 = (x - c.sx) * (x - c.sx) + (y - c.sy) * (y - c.sy);
      if (d2 < best) {
        best = d2;
        bx = cx + dx;
        by = cy + dy;
      }
    }
  const Cell& ci = cellAt(t, bx, by);
  const double qx = x - ci.sx, qy = y - ci.sy;
  Site s;
  bool gap = false;
  for (int dy = -2; dy <= 2; ++dy)
    for (int dx = -2; dx <= 2; ++dx) {
      if (!dx && !dy) continue;
      const Cell& ck = cellAt(t, bx + dx, by + dy);
      const double ddx = ck.sx - ci.sx, ddy = ck.sy - ci.sy, L = std::hypot(ddx, ddy);
      const double b = (L * L - 2 * (qx * ddx + qy * ddy)) / (2 * L);
      if (b >= kMaxGap + 10.0) continue;
      const double g = gapHalfWidth(t.mgrs.zone, bx, by, bx + dx, by + dy);
      s.edge = std::min(s.edge, b - g);
      if (b < g) gap = true;
    }
  if (gap) {
    s.kind = kRoad;
    return s;
  }
  if (ci.background >= 0) {
    s.kind = ci.background;
    return s;
  }
  const double tt = qx * ci.nx + qy * ci.ny;
  int m = 0;
  while (m < ci.strips - 1 && tt >= ci.cuts[static_cast<size_t>(m)]) ++m;
  if (m > 0) {
    const double d = tt - ci.cuts[static_cast<size_t>(m - 1)] - ci.stripGap;
    s.edge = std::min(s.edge, d);
    if (d < 0) gap = true;
  }
  if (m < ci.strips - 1) {
    const double d = ci.cuts[static_cast<size_t>(m)] - ci.stripGap - tt;
    s.edge = std::min(s.edge, d);
    if (d < 0) gap = true;
  }
  const int parcel = ci.parcel[static_cast<size_t>(m)];
  if (gap || parcel < 0) {
    s.kind = kRoad;
    return s;
  }
  s.parcel = parcel;
  s.kind = parcels_[static_cast<size_t>(parcel)].kind;
  return s;
}

}  // namespace cropmap::synth
