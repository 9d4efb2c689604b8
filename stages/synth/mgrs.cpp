#include "mgrs.hpp"

#include <cctype>
#include <cmath>
#include <stdexcept>

namespace cropmap::synth {

namespace {

// Letters used by MGRS: I and O are skipped to avoid confusion with 1 and 0.
int letterIndex(char c, const char* alphabet) {
  for (int i = 0; alphabet[i]; ++i)
    if (alphabet[i] == c) return i;
  return -1;
}

constexpr const char* kRowLetters = "ABCDEFGHJKLMNPQRSTUV";  // 20 rows of 100 km, cycle of 2000 km
constexpr const char* kBands = "CDEFGHJKLMNPQRSTUVWX";      // 8 degree latitude bands, C = 80S

// Minimum northing (m) of each latitude band, rounded down to 100 km, as in
// the NGA/GeoTrans tables; southern bands include the 10000 km false northing.
constexpr double kBandMinNorthing[20] = {1100000, 2000000, 2800000, 3700000, 4600000, 5500000, 6400000,
                                         7300000, 8200000, 9100000, 0,       800000,  1700000, 2600000,
                                         3500000, 4400000, 5300000, 6200000, 7000000, 7900000};

}  // namespace

MgrsTile decodeMgrsTile(const std::string& id) {
  auto bad = [&](const std::string& why) -> std::invalid_argument {
    return std::invalid_argument("'" + id + "' is not a Sentinel-2 tile id: " + why);
  };
  if (id.size() != 5 || !std::isdigit(static_cast<unsigned char>(id[0])) ||
      !std::isdigit(static_cast<unsigned char>(id[1])))
    throw bad("expected two digits and three letters, like 33UVP");
  MgrsTile t;
  t.id = id;
  t.zone = (id[0] - '0') * 10 + (id[1] - '0');
  if (t.zone < 1 || t.zone > 60) throw bad("UTM zone must be 1..60");
  t.band = id[2];
  const int bandIdx = letterIndex(t.band, kBands);
  if (bandIdx < 0) throw bad("latitude band must be one of C..X without I and O");
  t.north = t.band >= 'N';
  t.epsg = (t.north ? 32600 : 32700) + t.zone;

  // Column letters repeat every three zones: A-H, J-R, S-Z.
  static const char* kColumnSets[3] = {"ABCDEFGH", "JKLMNPQR", "STUVWXYZ"};
  const int col = letterIndex(id[3], kColumnSets[(t.zone - 1) % 3]);
  if (col < 0) throw bad(std::string("column letter '") + id[3] + "' does not exist in zone " + std::to_string(t.zone));
  t.squareEasting = (col + 1) * 100000.0;

  // Row letters cycle every 2000 km; even zones start five letters later.
  int row = letterIndex(id[4], kRowLetters);
  if (row < 0) throw bad(std::string("row letter '") + id[4] + "' is not an MGRS row letter");
  if (t.zone % 2 == 0) row = (row + 15) % 20;
  double northing = row * 100000.0;
  const double bandMin = kBandMinNorthing[bandIdx];
  while (northing < bandMin) northing += 2000000.0;
  t.squareNorthing = northing;

  // The 109.8 km tile starts at the square's west edge and at its north edge
  // (100 km above the south edge), each snapped outwards to the 60 m grid so
  // that 10, 20 and 60 m pixels share the corner; it overlaps its neighbours
  // by 9.8 km to the east and south.
  t.ulx = std::floor(t.squareEasting / 60.0) * 60.0;
  t.uly = std::ceil((t.squareNorthing + 100000.0) / 60.0) * 60.0;
  return t;
}

void approxLonLat(const MgrsTile& tile, double easting, double northing, double& lon, double& lat) {
  // Spherical inverse transverse Mercator: accurate to ~0.01 degree here.
  const double k0 = 0.9996, R = 6371000.0;
  const double x = (easting - 500000.0) / (k0 * R);
  const double y = (tile.north ? northing : northing - 10000000.0) / (k0 * R);
  const double latRad = std::asin(std::sin(y) / std::cosh(x));
  const double dLon = std::atan2(std::sinh(x), std::cos(y));
  lat = latRad * 180.0 / M_PI;
  lon = tile.centralMeridian() + dLon * 180.0 / M_PI;
}

}  // namespace cropmap::synth
