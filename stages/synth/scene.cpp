#include "scene.hpp"

#include <algorithm>
#include <cmath>

#include "noise.hpp"

namespace cropmap::synth {

namespace {

constexpr double kCloudWavelength = 6000.0;  // m, first octave of the cloud field
constexpr int kCloudOctaves = 6;
constexpr double kCirrusWavelength = 9000.0;
constexpr double kSpellWavelength = 4000.0;

double cloudField(std::uint64_t seed, double x, double y) { return fbm(seed, x, y, kCloudWavelength, kCloudOctaves, 0.55); }
double cirrusField(std::uint64_t seed, double x, double y) {
  return fbm(seed, x * 0.35, y, kCirrusWavelength, 3);  // stretched: cirrus comes in streaks
}
double spellField(std::uint64_t seed, double x, double y) { return fbm(seed, x, y, kSpellWavelength, 4); }

// Quantile of a sample (q in [0, 1]); +inf-like / -inf-like beyond the ends.
double quantile(std::vector<double> v, double q) {
  if (v.empty()) return 2.0;
  if (q <= 0) return -1.0;
  if (q >= 1) return 2.0;
  std::sort(v.begin(), v.end());
  const size_t k = std::min(v.size() - 1, static_cast<size_t>(q * static_cast<double>(v.size())));
  return v[k];
}

// Kumaraswamy(a, b) has a closed-form inverse CDF; with a, b < 1 it is
// U-shaped like the cloud cover of real scenes. b is solved for the mean.
double kumaraswamyMean(double a, double b) {
  return b * std::exp(std::lgamma(1.0 + 1.0 / a) + std::lgamma(b) - std::lgamma(1.0 + 1.0 / a + b));
}
double drawCloudFraction(double mean, double u) {
  if (mean <= 0.0) return 0.0;
  if (mean >= 1.0) return 1.0;
  const double a = 0.45;
  double lo = std::log(1e-3), hi = std::log(1e3);
  for (int i = 0; i < 80; ++i) {
    const double mid = 0.5 * (lo + hi);
    if (kumaraswamyMean(a, std::exp(mid)) > mean) lo = mid;
    else hi = mid;
  }
  const double b = std::exp(0.5 * (lo + hi));
  return std::pow(1.0 - std::pow(1.0 - u, 1.0 / b), 1.0 / a);
}

}  // namespace

double SceneStats::percent(std::initializer_list<int> classes, bool ofValid) const {
  std::int64_t n = 0;
  for (int c : classes) n += scl[static_cast<size_t>(c)];
  const std::int64_t d = ofValid ? total() - scl[0] : total();
  return d > 0 ? 100.0 * static_cast<double>(n) / static_cast<double>(d) : 0.0;
}

ScenePlan planScene(const Landscape& land, const TileModel& t, const Acquisition& a) {
  const SynthParams& p = land.params();
  ScenePlan s;
  const auto zone = static_cast<std::uint64_t>(t.mgrs.zone);
  const auto day = static_cast<std::uint64_t>(a.day);
  // Weather belongs to the day and the zone, not to the tile: overlapping
  // tiles of one zone imaged on the same day see the same clouds.
  s.cloudSeed = hashKeys({p.seed, keyOf("cloud"), zone, day});
  s.cirrusSeed = hashKeys({p.seed, keyOf("cirrus"), zone, day});
  s.spellSeed = hashKeys({p.seed, keyOf("spell"), zone, static_cast<std::uint64_t>(a.year),
                          static_cast<std::uint64_t>(a.month)});
  Rng rng(hashKeys({p.seed, keyOf("scene"), keyOf(t.mgrs.id.c_str()), day, static_cast<std::uint64_t>(a.relativeOrbit)}));

  // Seasonal mean cloudiness (cloudier winters), same yearly mean as configured.
  const double cc = p.cloudCover;
  const double seasonal = cc + 0.4 * std::min(cc, 1.0 - cc) * std::cos(2.0 * M_PI * (a.doy - 15) / 365.0);
  s.targetCloud = drawCloudFraction(seasonal, rng.uniform());
  s.spell = std::find(t.cloudyMonths.begin(), t.cloudyMonths.end(), a.month) != t.cloudyMonths.end();

  // Sample the fields over the area to turn fractions into thresholds.
  const int n = 1024;
  std::vector<double> f, fFree, spell, cir;
  f.reserve(n);
  Rng pos(hashKeys({p.seed, keyOf("samples"), keyOf(t.mgrs.id.c_str()), day}));
  const double ext = t.extent();
  const double spellArea = 0.3 + 0.2 * unitFrom(hashKeys({p.seed, keyOf("spell-area"), keyOf(t.mgrs.id.c_str()),
                                                         static_cast<std::uint64_t>(a.month)}));
  for (int i = 0; i < n; ++i) {
    const double x = t.x0 + pos.uniform() * ext, y = t.y0 - pos.uniform() * ext;
    f.push_back(cloudField(s.cloudSeed, x, y));
    cir.push_back(cirrusField(s.cirrusSeed, x, y));
    if (s.spell) spell.push_back(spellField(s.spellSeed, x, y));
  }
  double sFrac = 0;
  if (s.spell) {
    s.tSpell = quantile(spell, 1.0 - spellArea);
    std::vector<double> inside;
    for (int i = 0; i < n; ++i) {
      if (spell[static_cast<size_t>(i)] > s.tSpell) inside.push_back(spell[static_cast<size_t>(i)]);
      else fFree.push_back(f[static_cast<size_t>(i)]);
    }
    sFrac = static_cast<double>(inside.size()) / n;
    s.tSpellHigh = quantile(inside, 0.4);
    s.targetCloud = std::max(s.targetCloud, sFrac + 0.05 * (1.0 - sFrac));
  } else {
    fFree = f;
  }
  const double c = s.targetCloud;
  const double cirrusShare = c > 0.02 ? rng.uniform(0.0, 0.3) : 0.0;
  const double ci = cirrusShare * c;
  const double opaque = ci < 1.0 ? (c - ci) / (1.0 - ci) : 1.0;
  const double q = sFrac < 1.0 ? std::clamp((opaque - sFrac) / (1.0 - sFrac), 0.0, 1.0) : 0.0;
  s.tOpaque = q > 0 ? quantile(fFree, 1.0 - q) : 2.0;
  s.tHigh = q > 0 ? quantile(fFree, 1.0 - 0.55 * q) : 2.0;
  s.tHalo = quantile(fFree, 1.0 - std::min(1.0, q + 0.015));
  if (q <= 0) s.tHalo = 2.0;
  s.tCirrus = ci > 0 ? quantile(cir, 1.0 - ci) : 2.0;

  // Shadows: towards the anti-solar azimuth (sun in the south-south-east in
  // the late morning), longer in winter when the sun is low.
  const double decl = 23.44 * std::sin(2.0 * M_PI * (284.0 + a.doy) / 365.0);
  const double zenith = std::clamp(std::fabs(t.latCentre - decl) + 5.0, 15.0, 70.0);
  const double height = rng.uniform(800.0, 2500.0);
  const double length = height * std::tan(zenith * M_PI / 180.0);
  const double azimuth = (t.mgrs.north ? 155.0 : 25.0) * M_PI / 180.0;  // clockwise from north: the sun's direction
  s.shadowDx = length * std::sin(azimuth);
  s.shadowDy = length * std::cos(azimuth);
  s.cloudBrightness = rng.uniform(0.85, 1.15);

  // Data loss: now and then a stripe of rows without data.
  if (rng.uniform() < 0.04) {
    s.stripe = true;
    const double h = ext * rng.uniform(0.05, 0.25);
    s.stripeTop = t.y0 - rng.uniform(0.0, ext - h);
    s.stripeBottom = s.stripeTop - h;
  }
  const OrbitPass& o = t.orbits[static_cast<size_t>(a.orbitSlot)];
  s.partial = o.coverage < 0.999;
  s.trackLon = o.trackLon;
  s.halfWidth = o.halfWidthDeg;
  return s;
}

StaticLayer::StaticLayer(const Landscape& land, const TileModel& tile) : size_(tile.size) {
  compute(land, tile, 0, tile.size, pixels_);
}

void StaticLayer::compute(const Landscape& land, const TileModel& tile, int row0, int rows, std::vector<PixelStatic>& out) {
  const int size = tile.size;
  out.assign(static_cast<size_t>(rows) * static_cast<size_t>(size), PixelStatic{});
  const std::uint64_t seed = land.params().seed, zone = static_cast<std::uint64_t>(tile.mgrs.zone);
  const std::uint64_t texSeed = hashKeys({seed, keyOf("texture"), zone});
  const std::uint64_t hetSeed = hashKeys({seed, keyOf("heterogeneity"), zone});
  for (int r = 0; r < rows; ++r) {
    const double y = tile.y0 - (row0 + r + 0.5) * 10.0;
    for (int c = 0; c < size; ++c) {
      const double x = tile.x0 + (c + 0.5) * 10.0;
      const Site s = land.locate(tile, x, y);
      // Keyed by map position, so overlapping tiles of a zone agree.
      const auto ix = static_cast<std::uint64_t>(static_cast<std::int64_t>(std::floor(x / 10.0)));
      const auto iy = static_cast<std::uint64_t>(static_cast<std::int64_t>(std::floor(y / 10.0)));
      const std::uint64_t pix = (ix << 32) ^ (iy & 0xffffffffULL);
      PixelStatic& p = out[static_cast<size_t>(r) * static_cast<size_t>(size) + static_cast<size_t>(c)];
      p.parcel = s.parcel;
      p.kind = static_cast<std::int16_t>(s.kind);
      p.edge = static_cast<float>(std::min(s.edge, 1e9));
      p.asphalt = unitFrom(mix64(pix ^ texSeed)) < 0.55 ? 1 : 0;
      // Within-field variation (soil patches, vigour) and per-pixel texture.
      const double het = 1.0 + 0.12 * (fbm(hetSeed, x, y, 150.0, 2) - 0.5);
      const double tex = 1.0 + 0.025 * approxNormalFrom(mix64(pix ^ texSeed ^ 0x5bd1e995ULL));
      p.factor = static_cast<float>(het * tex);
    }
  }
}

ClearSky::ClearSky(const Landscape& land, const TileModel& tile, const Acquisition& acq, const StaticLayer* statics)
    : land_(land), tile_(tile), acq_(acq), statics_(statics) {
  const SynthParams& p = land.params();
  const auto& kinds = cropKinds();
  const double doy = acq.doy;
  // Bare soil is darker when wet (winter) and brighter in dry summers.
  const double moisture = 0.9 + 0.1 * std::sin(2.0 * M_PI * (doy - 100.0) / 365.0);
  parcelSpec_.resize(land.parcels().size());
  for (size_t i = 0; i < land.parcels().size(); ++i) {
    const Parcel& par = land.parcels()[i];
    const CropKind& k = kinds[static_cast<size_t>(par.kind)];
    CoverFractions f = coverAt(k, doy - par.shift);
    f.green = std::min(0.98, f.green * par.vigour);
    parcelSpec_[i] = mixSpectrum(k, f, par.soil * moisture);
  }
  kindSpec_.resize(kinds.size());
  for (size_t k = 0; k < kinds.size(); ++k) kindSpec_[k] = mixSpectrum(kinds[k], coverAt(kinds[k], doy), moisture);
  const CropKind& meadow = kinds[static_cast<size_t>(kindIndex("meadow_3cut"))];
  CoverFractions fv = coverAt(meadow, doy);
  fv.green *= 0.8;
  verge_ = mixSpectrum(meadow, fv, moisture);
  const auto day = static_cast<std::uint64_t>(acq.day);
  Rng rng(hashKeys({p.seed, keyOf("radiometry"), static_cast<std::uint64_t>(tile.mgrs.zone), day,
                    static_cast<std::uint64_t>(acq.relativeOrbit)}));
  for (int b = 0; b < kNumBands; ++b) {
    gain_[b] = static_cast<float>(1.0 + 0.015 * rng.normal());  // residual atmospheric correction error
    bias_[b] = static_cast<float>(0.003 * rng.normal());
  }
  obsSeed_ = hashKeys({p.seed, keyOf("observation"), static_cast<std::uint64_t>(tile.mgrs.zone), day,
                       static_cast<std::uint64_t>(acq.relativeOrbit)});
}

void ClearSky::block(int row0, int rows, std::vector<float>& out, std::vector<std::int16_t>* kinds) const {
  const int size = tile_.size;
  const size_t plane = static_cast<size_t>(rows) * static_cast<size_t>(size);
  out.assign(plane * kNumBands, 0.0f);
  if (kinds) kinds->assign(plane, -1);
  std::vector<PixelStatic> local;
  if (!statics_) StaticLayer::compute(land_, tile_, row0, rows, local);
  const Spectrum& asphalt = asphaltSpectrum();
  static const int kRoad = kindIndex("road");
  for (int r = 0; r < rows; ++r) {
    const PixelStatic* row = statics_ ? statics_->row(row0 + r) : local.data() + static_cast<size_t>(r) * static_cast<size_t>(size);
    const double y = tile_.y0 - (row0 + r + 0.5) * 10.0;
    for (int c = 0; c < size; ++c) {
      const PixelStatic& ps = row[c];
      const double x = tile_.x0 + (c + 0.5) * 10.0;
      Spectrum base;
      if (ps.parcel >= 0) {
        base = parcelSpec_[static_cast<size_t>(ps.parcel)];
        if (ps.edge < 5.0f) {  // a pixel straddling the field margin mixes in the margin
          const float w = 0.4f * (1.0f - std::max(0.0f, ps.edge) / 5.0f);
          for (int b = 0; b < kNumBands; ++b) base[b] = (1 - w) * base[b] + w * 0.5f * (asphalt[b] + verge_[b]);
        }
      } else if (ps.kind == kRoad) {
        base = ps.asphalt ? asphalt : verge_;
      } else {
        base = kindSpec_[static_cast<size_t>(ps.kind)];
      }
      const auto ix = static_cast<std::uint64_t>(static_cast<std::int64_t>(std::floor(x / 10.0)));
      const auto iy = static_cast<std::uint64_t>(static_cast<std::int64_t>(std::floor(y / 10.0)));
      const std::uint64_t obs = mix64(((ix << 32) ^ (iy & 0xffffffffULL)) ^ obsSeed_);
      const size_t at = static_cast<size_t>(r) * static_cast<size_t>(size) + static_cast<size_t>(c);
      for (int b = 0; b < kNumBands; ++b) {
        // Observation noise changes with every acquisition.
        const double noise = 0.004 * approxNormalFrom(mix64(obs + static_cast<std::uint64_t>(b)));
        const double v = base[b] * ps.factor * gain_[b] + bias_[b] + noise;
        out[static_cast<size_t>(b) * plane + at] = static_cast<float>(std::max(0.0005, v));
      }
      if (kinds) (*kinds)[at] = ps.kind;
    }
  }
}

SceneRenderer::SceneRenderer(const Landscape& land, const TileModel& tile, const Acquisition& acq,
                             const StaticLayer* statics)
    : land_(land), tile_(tile), acq_(acq), plan_(planScene(land, tile, acq)), clear_(land, tile, acq, statics) {}

void SceneRenderer::render(int row0, int rows, SceneBlock& out, SceneStats& stats) const {
  const int size = tile_.size, half = size / 2, hrows = rows / 2;
  const size_t plane10 = static_cast<size_t>(rows) * static_cast<size_t>(size);
  const size_t plane20 = static_cast<size_t>(hrows) * static_cast<size_t>(half);
  out.row0 = row0;
  out.rows = rows;
  out.size = size;
  out.dn10.assign(plane10 * kNumBands, 0);
  out.dn20.assign(plane20 * kNumBands, 0);
  out.scl.assign(plane20, 0);
  std::vector<float> refl;
  std::vector<std::int16_t> kinds;
  clear_.block(row0, rows, refl, &kinds);
  const ScenePlan& p = plan_;
  const Spectrum& cloud = cloudSpectrum();
  const Spectrum& cirrus = cirrusSpectrum();
  const bool offset = acq_.hasOffset;
  static const int kWater = kindIndex("water");

  for (int r2 = 0; r2 < hrows; ++r2) {
    const double y = tile_.y0 - ((row0 / 2) + r2 + 0.5) * 20.0;
    for (int c2 = 0; c2 < half; ++c2) {
      const double x = tile_.x0 + (c2 + 0.5) * 20.0;
      // The state of this 20 m pixel.
      bool nodata = p.stripe && y <= p.stripeTop && y >= p.stripeBottom;
      if (p.partial && std::fabs(tile_.lonAt(x, y) - p.trackLon) > p.halfWidth) nodata = true;
      const double F = cloudField(p.cloudSeed, x, y);
      const double P = p.spell ? spellField(p.spellSeed, x, y) : 0.0;
      const bool inSpell = p.spell && P > p.tSpell;
      const bool opaque = inSpell || F > p.tOpaque;
      const bool high = (inSpell && P > p.tSpellHigh) || (!inSpell && F > p.tHigh);
      bool shadow = false;
      if (!opaque) {
        const double xs = x + p.shadowDx, ys = y + p.shadowDy;
        // Thick clouds cast the shadows Sen2Cor detects; thin edges do not.
        shadow = cloudField(p.cloudSeed, xs, ys) > p.tHigh || (p.spell && spellField(p.spellSeed, xs, ys) > p.tSpellHigh);
      }
      const double C = cirrusField(p.cirrusSeed, x, y);
      const bool cirrusHere = C > p.tCirrus;
      const bool halo = F > p.tHalo;
      std::uint8_t scl;
      if (nodata) scl = kSclNoData;
      else if (opaque) scl = high ? kSclCloudHigh : kSclCloudMedium;
      else if (shadow) scl = kSclShadow;
      else if (cirrusHere) scl = kSclCirrus;
      else if (halo) scl = kSclUnclassified;
      else scl = 0xff;  // clear: decided from the surface below

      // Contaminate the four 10 m pixels and aggregate them to 20 m.
      double sum20[kNumBands] = {0};
      int water = 0;
      for (int dy = 0; dy < 2; ++dy)
        for (int dx = 0; dx < 2; ++dx) {
          const int r = 2 * r2 + dy, c = 2 * c2 + dx;
          const size_t at = static_cast<size_t>(r) * static_cast<size_t>(size) + static_cast<size_t>(c);
          if (kinds[at] == kWater) ++water;
          for (int b = 0; b < kNumBands; ++b) {
            double v = refl[static_cast<size_t>(b) * plane10 + at];
            if (opaque) {
              const double depth = inSpell ? 1.0 : std::clamp((F - p.tOpaque) / std::max(1e-6, p.tHigh - p.tOpaque), 0.0, 1.0);
              const double alpha = high ? 0.95 : 0.55 + 0.35 * depth;  // thick clouds hide the ground
              v = (1 - alpha) * v + alpha * cloud[b] * p.cloudBrightness;
            } else {
              if (shadow) v *= 0.38;
              if (cirrusHere) v += cirrus[b] * std::min(1.5, 0.5 + 8.0 * (C - p.tCirrus));
              else if (halo) v += 0.15 * cloud[b] * 0.2;
            }
            refl[static_cast<size_t>(b) * plane10 + at] = static_cast<float>(v);
            sum20[b] += v;
          }
        }
      if (scl == 0xff) {
        const double red = sum20[2], nir = sum20[6];
        const double ndvi = (nir - red) / std::max(1e-9, nir + red);
        scl = water >= 2 ? kSclWater : ndvi >= 0.4 ? kSclVegetation : kSclBare;
      }
      const size_t at20 = static_cast<size_t>(r2) * static_cast<size_t>(half) + static_cast<size_t>(c2);
      out.scl[at20] = scl;
      stats.scl[scl] += 1;
      for (int b = 0; b < kNumBands; ++b)
        out.dn20[static_cast<size_t>(b) * plane20 + at20] = nodata ? 0 : toDn(sum20[b] / 4.0, offset);
      for (int dy = 0; dy < 2; ++dy)
        for (int dx = 0; dx < 2; ++dx) {
          const size_t at = static_cast<size_t>(2 * r2 + dy) * static_cast<size_t>(size) + static_cast<size_t>(2 * c2 + dx);
          for (int b = 0; b < kNumBands; ++b) {
            if (!kBandIs10m[static_cast<size_t>(b)]) continue;
            out.dn10[static_cast<size_t>(b) * plane10 + at] =
                nodata ? 0 : toDn(refl[static_cast<size_t>(b) * plane10 + at], offset);
          }
        }
    }
  }
}

}  // namespace cropmap::synth
