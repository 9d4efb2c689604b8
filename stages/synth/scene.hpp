// One acquisition of one tile: clear-sky reflectance, clouds, shadows, cirrus,
// no-data, the scene classification (SCL) and the digital numbers.
//
// Clouds are multi-octave noise fields thresholded at the quantile that gives
// the scene its drawn cloud fraction (a U-shaped distribution around the
// seasonal mean, so that many scenes are clear and many almost fully cloudy).
// Shadows are the opaque cloud field displaced towards the anti-solar
// direction by cloud height x tan(solar zenith). In the tile's "cloudy months"
// a persistent cloud deck hides the same part of the tile in every scene, so
// that compositing must interpolate there. Swath edges (tiles at the border of
// an orbit's swath) and data-loss stripes leave no-data (SCL 0, DN 0).
// All states are decided on the 20 m grid of the SCL and shared by the four
// 10 m pixels inside, so masks and reflectances agree exactly.
#pragma once

#include <array>
#include <cstdint>
#include <vector>

#include "landscape.hpp"

namespace cropmap::synth {

// SCL classes of Sen2Cor that the synthesiser produces.
enum Scl : std::uint8_t {
  kSclNoData = 0,
  kSclShadow = 3,
  kSclVegetation = 4,
  kSclBare = 5,
  kSclWater = 6,
  kSclUnclassified = 7,
  kSclCloudMedium = 8,
  kSclCloudHigh = 9,
  kSclCirrus = 10,
};

// Scene-wide parameters, derived from (seed, tile, date, orbit) only.
struct ScenePlan {
  std::uint64_t cloudSeed = 0, cirrusSeed = 0, spellSeed = 0;
  double targetCloud = 0;  // drawn cloud fraction (opaque + cirrus)
  double tOpaque = 2, tHigh = 2, tHalo = 2, tCirrus = 2;
  bool spell = false;
  double tSpell = 2, tSpellHigh = 2;
  double shadowDx = 0, shadowDy = 0;  // metres from a shadow to the cloud casting it
  double cloudBrightness = 1;
  bool stripe = false;
  double stripeTop = 0, stripeBottom = 0;  // map y of a data-loss stripe
  bool partial = false;  // the orbit's swath edge crosses the area
  double trackLon = 0, halfWidth = 0;
};

ScenePlan planScene(const Landscape& land, const TileModel& tile, const Acquisition& acq);

// What never changes at a pixel: its site and its static brightness factor
// (within-field variation x texture). Computed once per tile when it fits in
// memory (areas up to 8192 x 8192 pixels); otherwise evaluated per block.
struct PixelStatic {
  std::int32_t parcel = -1;
  std::int16_t kind = -1;
  std::uint8_t asphalt = 0;  // a road pixel: asphalt (1) or grass verge (0)
  float edge = 1e9f;
  float factor = 1.0f;
};

class StaticLayer {
 public:
  StaticLayer(const Landscape& land, const TileModel& tile);
  // Fills rows [row0, row0 + rows) (used directly by blocks of tiles too large to cache).
  static void compute(const Landscape& land, const TileModel& tile, int row0, int rows, std::vector<PixelStatic>& out);
  const PixelStatic* row(int r) const { return pixels_.data() + static_cast<size_t>(r) * static_cast<size_t>(size_); }
  static bool fits(int size) { return static_cast<double>(size) * size * sizeof(PixelStatic) <= 1024.0 * 1024 * 1024; }

 private:
  int size_;
  std::vector<PixelStatic> pixels_;
};

// Clear-sky reflectance of a date: per-parcel spectra computed once, then any
// row block on demand. Includes the scene's small radiometric residuals and
// per-pixel noise, i.e. what a cloud-free observation would record.
class ClearSky {
 public:
  // `statics` (optional, may be null) is the tile's cached static layer.
  ClearSky(const Landscape& land, const TileModel& tile, const Acquisition& acq, const StaticLayer* statics = nullptr);
  // Reflectance of 10 m rows [row0, row0 + rows): out[(b * rows + r) * size + c].
  // `kinds` (optional) receives the crop kind of every pixel.
  void block(int row0, int rows, std::vector<float>& out, std::vector<std::int16_t>* kinds = nullptr) const;

 private:
  const Landscape& land_;
  const TileModel& tile_;
  const Acquisition& acq_;
  const StaticLayer* statics_;
  std::vector<Spectrum> parcelSpec_, kindSpec_;
  Spectrum verge_{}, gain_{}, bias_{};
  std::uint64_t obsSeed_;
};

struct SceneStats {
  std::array<std::int64_t, 12> scl{};  // 20 m pixels per SCL class
  std::int64_t total() const {
    std::int64_t s = 0;
    for (auto v : scl) s += v;
    return s;
  }
  double percent(std::initializer_list<int> classes, bool ofValid = true) const;
};

// One row block of a scene, ready to write. Rows must be even (20 m pairs).
struct SceneBlock {
  int row0 = 0, rows = 0, size = 0;
  std::vector<std::uint16_t> dn10;  // 10 m bands in kNumBands order, 20 m bands left zero: [(b*rows + r)*size + c]
  std::vector<std::uint16_t> dn20;  // all bands at 20 m: [(b*rows/2 + r)*size/2 + c]
  std::vector<std::uint8_t> scl;    // [r*size/2 + c]
};

class SceneRenderer {
 public:
  SceneRenderer(const Landscape& land, const TileModel& tile, const Acquisition& acq, const StaticLayer* statics);
  void render(int row0, int rows, SceneBlock& out, SceneStats& stats) const;
  const ScenePlan& plan() const { return plan_; }

 private:
  const Landscape& land_;
  const TileModel& tile_;
  const Acquisition& acq_;
  ScenePlan plan_;
  ClearSky clear_;
};

// Digital number of a reflectance under a product's offset convention: 0 is
// no data, so valid pixels are clamped to [1, 65535].
inline std::uint16_t toDn(double reflectance, bool withOffset) {
  double v = reflectance * 10000.0 + (withOffset ? 1000.0 : 0.0);
  v = v < 1.0 ? 1.0 : (v > 65535.0 ? 65535.0 : v);
  return static_cast<std::uint16_t>(v + 0.5 > 65535.0 ? 65535.0 : v + 0.5);
}

}  // namespace cropmap::synth
