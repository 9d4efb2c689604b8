// Deterministic randomness for the synthetic region.
//
// Nothing here keeps state: every random number is a hash of the run seed and
// the identity of what it describes (tile, date, parcel, pixel). That is what
// makes the output independent of how units are spread over ranks and lets any
// row block of any scene be generated on its own. Spatially coherent fields
// (clouds, soil moisture) are multi-octave value noise evaluated at map
// coordinates, so that neighbouring tiles of one UTM zone see the same clouds.
#pragma once

#include <cmath>
#include <cstdint>
#include <initializer_list>

namespace cropmap::synth {

// SplitMix64 finaliser: a strong 64-bit mix of one word.
inline std::uint64_t mix64(std::uint64_t z) {
  z += 0x9e3779b97f4a7c15ULL;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

// Hash of a sequence of keys (order matters).
inline std::uint64_t hashKeys(std::initializer_list<std::uint64_t> keys) {
  std::uint64_t h = 0x6a09e667f3bcc909ULL;
  for (std::uint64_t k : keys) h = mix64(h ^ mix64(k));
  return h;
}

// Uniform in [0, 1) from the top 53 bits.
inline double unitFrom(std::uint64_t h) { return static_cast<double>(h >> 11) * (1.0 / 9007199254740992.0); }

inline std::uint64_t keyOf(const char* s) {
  std::uint64_t h = 1469598103934665603ULL;  // FNV-1a: stable names for streams
  for (; *s; ++s) h = (h ^ static_cast<unsigned char>(*s)) * 1099511628211ULL;
  return h;
}

// A small sequential generator for places where many draws describe one thing
// (a parcel's parameters): seeded from a hash, never shared between units.
class Rng {
 public:
  explicit Rng(std::uint64_t seed) : state_(seed) {}
  std::uint64_t next() { return mix64(state_ += 0x9e3779b97f4a7c15ULL); }
  double uniform() { return unitFrom(next()); }
  double uniform(double lo, double hi) { return lo + (hi - lo) * uniform(); }
  double normal() {  // Box-Muller; one value per call keeps the stream simple
    const double u1 = 1.0 - uniform(), u2 = uniform();
    return std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2);
  }
  int below(int n) { return static_cast<int>(uniform() * n); }

 private:
  std::uint64_t state_;
};

// Normal deviate from a hash (two uniforms from one 64-bit word are enough
// for per-pixel noise).
inline double normalFrom(std::uint64_t h) {
  const double u1 = ((h >> 32) + 0.5) * (1.0 / 4294967296.0);
  const double u2 = ((h & 0xffffffffULL) + 0.5) * (1.0 / 4294967296.0);
  return std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2);
}

// Cheap approximately normal deviate (Irwin-Hall sum of four 16-bit uniforms,
// rescaled to unit variance): per-pixel per-band noise needs no tails.
inline double approxNormalFrom(std::uint64_t h) {
  const double s = static_cast<double>(h & 0xffff) + static_cast<double>((h >> 16) & 0xffff) +
                   static_cast<double>((h >> 32) & 0xffff) + static_cast<double>(h >> 48);
  return (s / 65536.0 - 2.0) * 1.7320508075688772;
}

// Value noise on the integer lattice with quintic interpolation, in [0, 1).
inline double valueNoise(std::uint64_t seed, double x, double y) {
  const double fx = std::floor(x), fy = std::floor(y);
  const auto ix = static_cast<std::int64_t>(fx), iy = static_cast<std::int64_t>(fy);
  const double tx = x - fx, ty = y - fy;
  const double sx = tx * tx * tx * (tx * (tx * 6 - 15) + 10);
  const double sy = ty * ty * ty * (ty * (ty * 6 - 15) + 10);
  auto v = [&](std::int64_t a, std::int64_t b) {
    return unitFrom(mix64(seed ^ mix64(static_cast<std::uint64_t>(a) * 0x8cb92ba72f3d8dd7ULL +
                                       static_cast<std::uint64_t>(b))));
  };
  const double a = v(ix, iy), b = v(ix + 1, iy), c = v(ix, iy + 1), d = v(ix + 1, iy + 1);
  return (a + (b - a) * sx) * (1 - sy) + (c + (d - c) * sx) * sy;
}

// Fractal sum of `octaves` value-noise layers; wavelength of the first in map
// units. Result roughly in [0, 1), mean 0.5.
inline double fbm(std::uint64_t seed, double x, double y, double wavelength, int octaves, double gain = 0.5) {
  double sum = 0, norm = 0, amp = 1, f = 1.0 / wavelength;
  for (int o = 0; o < octaves; ++o) {
    sum += amp * valueNoise(mix64(seed + static_cast<std::uint64_t>(o)), x * f, y * f);
    norm += amp;
    amp *= gain;
    f *= 2.0;
  }
  return sum / norm;
}

}  // namespace cropmap::synth
