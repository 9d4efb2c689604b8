// Crops of the synthetic region: what grows where and what it looks like.
//
// A crop kind is a yearly course of three cover fractions (green canopy, dry
// residue or senescent canopy, flowers) given as control points; a pixel's
// clear-sky reflectance is the mixture of endmember spectra by those fractions
// over a soil background. Register styles (INVEKOS, RPG) attach national crop
// codes with area shares to the kinds; the share table is the "configuration"
// the class statistics of a synthetic region are tested against.
#pragma once

#include <array>
#include <string>
#include <vector>

namespace cropmap::synth {

// Every band the synthesiser models, in this order. B02, B03, B04, B08 are
// 10 m bands; the others are 20 m bands in Sentinel-2 L2A products.
constexpr int kNumBands = 10;
extern const std::array<const char*, kNumBands> kBandNames;  // "B02", ..., "B12"
extern const std::array<bool, kNumBands> kBandIs10m;
int bandIndex(const std::string& name);  // -1 if not modelled

using Spectrum = std::array<float, kNumBands>;

enum class Surface { vegetation, water, impervious };

struct CropKey {
  float doy, green, dry, flower;
};

struct CropKind {
  std::string name;
  Surface surface = Surface::vegetation;
  std::vector<CropKey> keys;  // increasing day of year, covering 1..366
  double shiftSpread = 6.0;   // per-parcel timing spread (days, standard deviation)
  double darkness = 1.0;      // canopy shading (forests are darker than crops)
};

// The kinds, looked up by name; throws std::out_of_range for an unknown one.
const std::vector<CropKind>& cropKinds();
int kindIndex(const std::string& name);

struct CoverFractions {
  double green = 0, dry = 0, flower = 0;
};
CoverFractions coverAt(const CropKind& kind, double doy);

// Clear-sky reflectance of a cover mixture; soilBrightness scales the soil
// endmember (moist or dark soils < 1).
Spectrum mixSpectrum(const CropKind& kind, const CoverFractions& f, double soilBrightness);

// Endmembers, exposed for the atmosphere model and tests.
const Spectrum& cloudSpectrum();
const Spectrum& cirrusSpectrum();
const Spectrum& asphaltSpectrum();

// What the register says about a parcel.
enum class CodeRole { crop, ignored, unknown };  // as the style's legend sees the code

struct RegisterCode {
  std::string code;
  std::string name;  // the register's name of the code (written when the style has a name field)
  std::string kind;  // crop kind name
  double share;      // relative area share among register parcels
  CodeRole role;
};

struct RegisterStyle {
  std::string name;        // "invekos" | "rpg"
  int epsg;                // the register's CRS
  std::string codeField;   // attribute names as the national files have them
  bool codeIsInteger;      // INVEKOS SNAR_CODE is numeric, RPG CODE_CULTU text
  std::string nameField;   // the code's name (INVEKOS SNAR_BEZEICHNUNG), empty: none
  std::string idField;
  bool idIsString;         // RPG ids are text, INVEKOS ids integers
  std::string layerName;
  std::string legendFile;  // the legend of configs/legends/ these codes are written for
  std::vector<RegisterCode> codes;
};

// Throws std::invalid_argument for a style other than invekos or rpg.
const RegisterStyle& registerStyle(const std::string& name);

}  // namespace cropmap::synth
