#include "crops.hpp"

#include <algorithm>
#include <stdexcept>

namespace cropmap::synth {

const std::array<const char*, kNumBands> kBandNames = {"B02", "B03", "B04", "B05", "B06",
                                                       "B07", "B08", "B8A", "B11", "B12"};
const std::array<bool, kNumBands> kBandIs10m = {true, true, true, false, false, false, true, false, false, false};

int bandIndex(const std::string& name) {
  for (int b = 0; b < kNumBands; ++b)
    if (name == kBandNames[b]) return b;
  return -1;
}

namespace {

// Endmember reflectances for B02 B03 B04 B05 B06 B07 B08 B8A B11 B12: typical
// values of loamy soil, a closed green canopy, straw/senescent canopy, yellow
// flowering (rapeseed), clear water, asphalt, thick cloud and thin cirrus.
const Spectrum kSoil = {0.075f, 0.105f, 0.135f, 0.165f, 0.190f, 0.205f, 0.225f, 0.240f, 0.330f, 0.280f};
const Spectrum kGreen = {0.030f, 0.070f, 0.035f, 0.110f, 0.300f, 0.390f, 0.430f, 0.450f, 0.220f, 0.110f};
const Spectrum kDry = {0.095f, 0.130f, 0.165f, 0.215f, 0.255f, 0.275f, 0.295f, 0.310f, 0.400f, 0.320f};
const Spectrum kFlower = {0.060f, 0.160f, 0.180f, 0.230f, 0.330f, 0.380f, 0.400f, 0.410f, 0.240f, 0.130f};
const Spectrum kWater = {0.060f, 0.055f, 0.035f, 0.025f, 0.018f, 0.015f, 0.012f, 0.011f, 0.006f, 0.004f};
const Spectrum kAsphalt = {0.095f, 0.105f, 0.115f, 0.125f, 0.130f, 0.135f, 0.140f, 0.145f, 0.165f, 0.150f};
const Spectrum kCloud = {0.620f, 0.600f, 0.590f, 0.600f, 0.610f, 0.620f, 0.630f, 0.630f, 0.420f, 0.300f};
const Spectrum kCirrus = {0.100f, 0.095f, 0.090f, 0.090f, 0.090f, 0.090f, 0.090f, 0.090f, 0.060f, 0.040f};

CropKind kind(std::string name, std::vector<CropKey> keys, double spread = 6.0, Surface s = Surface::vegetation,
              double dark = 1.0) {
  CropKind k;
  k.name = std::move(name);
  k.keys = std::move(keys);
  k.shiftSpread = spread;
  k.surface = s;
  k.darkness = dark;
  return k;
}

std::vector<CropKind> buildKinds() {
  // Control points (day of year, green, dry, flower). Winter crops are green
  // from the previous autumn, harvested in summer, and sown again in autumn;
  // grassland is green all year with dips at each cut.
  return {
      kind("meadow_2cut", {{1, .45f, .10f, 0}, {70, .50f, .05f, 0}, {100, .70f, 0, 0}, {130, .85f, 0, 0},
                           {152, .88f, 0, 0}, {158, .30f, .35f, 0}, {176, .66f, .05f, 0}, {200, .80f, 0, 0},
                           {226, .82f, 0, 0}, {232, .35f, .30f, 0}, {250, .65f, .05f, 0}, {290, .70f, 0, 0},
                           {330, .55f, .05f, 0}, {366, .45f, .10f, 0}},
           10),
      kind("meadow_3cut", {{1, .45f, .10f, 0}, {70, .50f, .05f, 0}, {100, .72f, 0, 0}, {134, .88f, 0, 0},
                           {140, .30f, .35f, 0}, {158, .70f, .05f, 0}, {185, .85f, 0, 0}, {190, .32f, .33f, 0},
                           {208, .70f, .05f, 0}, {240, .82f, 0, 0}, {245, .35f, .30f, 0}, {262, .68f, .05f, 0},
                           {300, .70f, 0, 0}, {335, .55f, .05f, 0}, {366, .45f, .10f, 0}},
           10),
      kind("pasture", {{1, .40f, .15f, 0}, {90, .55f, .05f, 0}, {130, .72f, 0, 0}, {200, .60f, .10f, 0},
                       {260, .62f, .05f, 0}, {320, .50f, .10f, 0}, {366, .40f, .15f, 0}},
           10),
      kind("clover_grass", {{1, .50f, .05f, 0}, {80, .60f, 0, 0}, {120, .92f, 0, 0}, {148, .95f, 0, 0},
                            {154, .35f, .30f, 0}, {170, .80f, 0, 0}, {210, .90f, 0, 0}, {215, .35f, .30f, 0},
                            {232, .78f, 0, 0}, {280, .80f, 0, 0}, {330, .62f, .05f, 0}, {366, .50f, .05f, 0}},
           9),
      kind("alfalfa", {{1, .35f, .10f, 0}, {80, .45f, .05f, 0}, {125, .90f, 0, 0}, {130, .30f, .30f, 0},
                       {160, .85f, 0, 0}, {165, .30f, .30f, 0}, {195, .85f, 0, 0}, {200, .30f, .30f, 0},
                       {235, .80f, 0, 0}, {240, .30f, .30f, 0}, {280, .70f, 0, 0}, {330, .45f, .05f, 0},
                       {366, .35f, .10f, 0}},
           8),
      kind("winter_wheat", {{1, .25f, 0, 0}, {60, .28f, 0, 0}, {90, .45f, 0, 0}, {120, .82f, 0, 0},
                            {150, .90f, 0, 0}, {170, .55f, .35f, 0}, {188, .15f, .70f, 0}, {200, .03f, .45f, 0},
                            {230, 0, .25f, 0}, {250, 0, .05f, 0}, {280, .02f, 0, 0}, {300, .12f, 0, 0},
                            {335, .22f, 0, 0}, {366, .25f, 0, 0}}),
      kind("winter_triticale", {{1, .27f, 0, 0}, {60, .30f, 0, 0}, {90, .50f, 0, 0}, {120, .86f, 0, 0},
                                {156, .93f, 0, 0}, {176, .60f, .30f, 0}, {194, .18f, .68f, 0}, {206, .03f, .45f, 0},
                                {234, 0, .25f, 0}, {254, 0, .05f, 0}, {282, .02f, 0, 0}, {302, .12f, 0, 0},
                                {335, .22f, 0, 0}, {366, .27f, 0, 0}}),
      kind("winter_barley", {{1, .30f, 0, 0}, {60, .32f, 0, 0}, {85, .55f, 0, 0}, {110, .85f, 0, 0},
                             {135, .88f, 0, 0}, {150, .50f, .40f, 0}, {168, .12f, .70f, 0}, {180, .02f, .45f, 0},
                             {210, 0, .20f, 0}, {235, 0, 0, 0}, {262, .05f, 0, 0}, {290, .25f, 0, 0},
                             {330, .30f, 0, 0}, {366, .30f, 0, 0}}),
      kind("spring_cereal", {{1, 0, .10f, 0}, {80, 0, 0, 0}, {100, .05f, 0, 0}, {125, .40f, 0, 0},
                             {150, .85f, 0, 0}, {175, .80f, .10f, 0}, {195, .30f, .60f, 0}, {212, .03f, .45f, 0},
                             {240, 0, .20f, 0}, {260, 0, 0, 0}, {366, 0, .05f, 0}}),
      kind("maize", {{1, 0, .15f, 0}, {120, 0, 0, 0}, {140, .05f, 0, 0}, {165, .35f, 0, 0}, {190, .85f, 0, 0},
                     {220, .95f, 0, 0}, {245, .75f, .15f, 0}, {265, .40f, .45f, 0}, {280, .05f, .35f, 0},
                     {300, 0, .30f, 0}, {366, 0, .20f, 0}}),
      kind("sunflower", {{1, 0, .05f, 0}, {105, 0, 0, 0}, {125, .08f, 0, 0}, {150, .50f, 0, 0}, {175, .80f, 0, 0},
                         {190, .60f, .05f, .30f}, {205, .50f, .30f, .10f}, {230, .15f, .75f, 0},
                         {250, .02f, .60f, 0}, {265, 0, .30f, 0}, {300, 0, .10f, 0}, {366, 0, .05f, 0}}),
      kind("soybean", {{1, 0, .10f, 0}, {125, 0, 0, 0}, {145, .08f, 0, 0}, {175, .55f, 0, 0}, {205, .92f, 0, 0},
                       {235, .85f, 0, 0}, {255, .40f, .45f, 0}, {268, .10f, .60f, 0}, {280, 0, .30f, 0},
                       {310, 0, .10f, 0}, {366, 0, .10f, 0}}),
      kind("potato", {{1, 0, 0, 0}, {100, 0, 0, 0}, {130, .05f, 0, 0}, {155, .60f, 0, 0}, {180, .88f, 0, 0},
                      {200, .70f, .15f, 0}, {215, .30f, .40f, 0}, {222, .05f, .30f, 0}, {240, 0, 0, 0},
                      {366, 0, 0, 0}}),
      kind("sugar_beet", {{1, 0, 0, 0}, {95, 0, 0, 0}, {120, .05f, 0, 0}, {150, .45f, 0, 0}, {180, .90f, 0, 0},
                          {250, .90f, 0, 0}, {280, .75f, .05f, 0}, {295, .05f, .10f, 0}, {310, 0, 0, 0},
                          {366, 0, 0, 0}}),
      kind("winter_sugar_beet", {{1, .30f, 0, 0}, {60, .35f, 0, 0}, {100, .60f, 0, 0}, {140, .90f, 0, 0},
                                 {200, .85f, 0, 0}, {225, .40f, .10f, 0}, {235, 0, 0, 0}, {280, 0, 0, 0},
                                 {300, .10f, 0, 0}, {340, .25f, 0, 0}, {366, .30f, 0, 0}}),
      kind("rapeseed", {{1, .45f, .05f, 0}, {60, .45f, .05f, 0}, {90, .70f, 0, 0}, {105, .75f, 0, .15f},
                        {115, .45f, 0, .50f}, {130, .45f, 0, .45f}, {140, .75f, 0, .08f}, {160, .70f, .15f, 0},
                        {180, .25f, .60f, 0}, {195, .03f, .45f, 0}, {220, 0, .20f, 0}, {235, .10f, 0, 0},
                        {245, .20f, 0, 0}, {265, .35f, 0, 0}, {300, .50f, 0, 0}, {340, .50f, .05f, 0},
                        {366, .45f, .05f, 0}}),
      kind("caraway", {{1, .30f, .10f, 0}, {80, .45f, 0, 0}, {120, .80f, 0, 0}, {150, .70f, .10f, .20f},
                       {180, .35f, .50f, 0}, {195, .05f, .45f, 0}, {220, .20f, .10f, 0}, {260, .35f, 0, 0},
                       {320, .35f, .05f, 0}, {366, .30f, .10f, 0}}),
      kind("peas", {{1, 0, .05f, 0}, {75, 0, 0, 0}, {95, .10f, 0, 0}, {120, .55f, 0, 0}, {145, .88f, 0, 0},
                    {165, .60f, .30f, 0}, {185, .15f, .65f, 0}, {195, .02f, .45f, 0}, {225, 0, .15f, 0},
                    {250, 0, 0, 0}, {366, 0, 0, 0}}),
      kind("permanent", {{1, .15f, .15f, 0}, {100, .20f, .10f, 0}, {130, .40f, 0, 0}, {160, .55f, 0, 0},
                         {220, .60f, 0, 0}, {270, .45f, .10f, 0}, {300, .30f, .20f, 0}, {330, .18f, .20f, 0},
                         {366, .15f, .15f, 0}},
           5),
      kind("forest", {{1, .55f, .20f, 0}, {100, .60f, .10f, 0}, {130, .85f, 0, 0}, {270, .85f, 0, 0},
                      {300, .65f, .15f, 0}, {330, .55f, .20f, 0}, {366, .55f, .20f, 0}},
           4, Surface::vegetation, 0.72),
      kind("farmyard", {{1, .08f, .05f, 0}, {366, .08f, .05f, 0}}, 1, Surface::impervious),
      kind("fallow", {{1, .30f, .25f, 0}, {100, .45f, .10f, 0}, {150, .65f, 0, 0}, {200, .55f, .20f, 0},
                      {250, .45f, .25f, 0}, {300, .40f, .20f, 0}, {366, .30f, .25f, 0}},
           10),
      kind("hedge", {{1, .40f, .20f, 0}, {120, .80f, 0, 0}, {280, .75f, .05f, 0}, {330, .45f, .20f, 0},
                     {366, .40f, .20f, 0}},
           5, Surface::vegetation, 0.85),
      kind("pumpkin", {{1, 0, 0, 0}, {130, 0, 0, 0}, {160, .20f, 0, 0}, {190, .60f, 0, .05f}, {220, .70f, .05f, 0},
                       {245, .30f, .30f, 0}, {260, .05f, .20f, 0}, {366, 0, 0, 0}}),
      kind("poppy", {{1, 0, .05f, 0}, {85, 0, 0, 0}, {105, .10f, 0, 0}, {135, .60f, 0, 0}, {160, .70f, 0, .25f},
                     {175, .55f, .20f, 0}, {200, .20f, .55f, 0}, {215, .02f, .40f, 0}, {245, 0, .10f, 0},
                     {366, 0, .05f, 0}}),
      kind("millet", {{1, 0, .05f, 0}, {135, 0, 0, 0}, {155, .10f, 0, 0}, {185, .70f, 0, 0}, {215, .85f, 0, 0},
                      {240, .45f, .40f, 0}, {255, .05f, .40f, 0}, {366, 0, .10f, 0}}),
      kind("water", {{1, 0, 0, 0}, {366, 0, 0, 0}}, 0, Surface::water),
      kind("settlement", {{1, .20f, .05f, 0}, {120, .30f, 0, 0}, {280, .30f, 0, 0}, {366, .20f, .05f, 0}}, 0,
           Surface::impervious),
      kind("road", {{1, .05f, .05f, 0}, {366, .05f, .05f, 0}}, 0, Surface::impervious),
  };
}

}  // namespace

const std::vector<CropKind>& cropKinds() {
  static const std::vector<CropKind> kinds = buildKinds();
  return kinds;
}

int kindIndex(const std::string& name) {
  const auto& k = cropKinds();
  for (size_t i = 0; i < k.size(); ++i)
    if (k[i].name == name) return static_cast<int>(i);
  throw std::out_of_range("unknown crop kind '" + name + "'");
}

CoverFractions coverAt(const CropKind& kind, double doy) {
  const auto& k = kind.keys;
  doy = std::clamp(doy, 1.0, 366.0);  // shifted calendars saturate at the year's ends
  size_t i = 1;
  while (i < k.size() - 1 && k[i].doy < doy) ++i;
  if (k.size() == 1) return {k[0].green, k[0].dry, k[0].flower};
  const CropKey& a = k[i - 1];
  const CropKey& b = k[i];
  const double t = b.doy > a.doy ? std::clamp((doy - a.doy) / (b.doy - a.doy), 0.0, 1.0) : 1.0;
  return {a.green + (b.green - a.green) * t, a.dry + (b.dry - a.dry) * t, a.flower + (b.flower - a.flower) * t};
}

Spectrum mixSpectrum(const CropKind& kind, const CoverFractions& f, double soilBrightness) {
  Spectrum s{};
  if (kind.surface == Surface::water) return kWater;
  const double g = std::clamp(f.green, 0.0, 0.98);
  const double d = std::clamp(f.dry, 0.0, 1.0 - g);
  const double y = std::clamp(f.flower, 0.0, 1.0 - g - d);
  const double bare = 1.0 - g - d - y;
  const Spectrum& ground = kind.surface == Surface::impervious ? kAsphalt : kSoil;
  const double gb = kind.surface == Surface::impervious ? 1.0 : soilBrightness;
  for (int b = 0; b < kNumBands; ++b)
    s[b] = static_cast<float>(kind.darkness * (g * kGreen[b] + d * kDry[b] + y * kFlower[b] + bare * gb * ground[b]));
  return s;
}

const Spectrum& cloudSpectrum() { return kCloud; }
const Spectrum& cirrusSpectrum() { return kCirrus; }
const Spectrum& asphaltSpectrum() { return kAsphalt; }

const RegisterStyle& registerStyle(const std::string& name) {
  using R = CodeRole;
  // Area shares follow the make-up of real registers: grassland dominant,
  // cereals and maize next, many rare classes; a few per cent of register
  // parcels carry codes the legend ignores, and about one per cent codes it
  // does not know at all.
  // Codes and names as the official tables have them (configs/legends/tables/):
  // the "unknown" codes are real codes of other years that those tables lack.
  static const RegisterStyle invekos{
      "invekos",
      31287,
      "SNAR_CODE",
      true,
      "SNAR_BEZEICHNUNG",
      "GEO_ID",
      false,
      "INSPIRE_SCHLAEGE_POLYGON",
      "configs/legends/austria.yaml",
      {
          {"716", "MÄHWIESE/-WEIDE ZWEI NUTZUNGEN", "meadow_2cut", 0.14, R::crop},
          {"717", "MÄHWIESE/-WEIDE DREI UND MEHR NUTZUNGEN", "meadow_3cut", 0.10, R::crop},
          {"715", "DAUERWEIDE", "pasture", 0.03, R::crop},
          {"636", "WECHSELWIESE (EGART, ACKERWEIDE)", "clover_grass", 0.02, R::crop},
          {"634", "KLEEGRAS", "clover_grass", 0.05, R::crop},
          {"138", "WINTERWEICHWEIZEN", "winter_wheat", 0.11, R::crop},
          {"145", "WINTERDINKEL (SPELZ)", "winter_wheat", 0.01, R::crop},
          {"165", "WINTERHARTWEIZEN (DURUM)", "winter_wheat", 0.005, R::crop},
          {"105", "KÖRNERMAIS", "maize", 0.07, R::crop},
          {"109", "SILOMAIS", "maize", 0.05, R::crop},
          {"110", "WINTERGERSTE", "winter_barley", 0.06, R::crop},
          {"116", "WINTERTRITICALE", "winter_triticale", 0.04, R::crop},
          {"142", "WINTERROGGEN", "winter_triticale", 0.01, R::crop},
          {"111", "SOMMERGERSTE", "spring_cereal", 0.03, R::crop},
          {"155", "SOMMERHAFER", "spring_cereal", 0.015, R::crop},
          {"301", "WINTERRAPS", "rapeseed", 0.035, R::crop},
          {"308", "SOJABOHNEN", "soybean", 0.035, R::crop},
          {"307", "SONNENBLUMEN", "sunflower", 0.02, R::crop},
          {"651", "ZUCKERRÜBEN", "sugar_beet", 0.025, R::crop},
          {"524", "SPEISEKARTOFFELN", "potato", 0.015, R::crop},
          {"201", "KÖRNERERBSEN", "peas", 0.01, R::crop},
          {"635", "LUZERNE", "alfalfa", 0.01, R::crop},
          {"536", "WINTERKÜMMEL", "caraway", 0.005, R::crop},
          {"901", "WEIN", "permanent", 0.012, R::crop},
          {"817", "TAFELÄPFEL", "permanent", 0.008, R::crop},
          {"863", "ENERGIEHOLZ OHNE ROBINIE", "forest", 0.01, R::ignored},
          {"661", "SONSTIGE ACKERFLÄCHEN", "farmyard", 0.005, R::ignored},
          {"771", "GRÜNBRACHE", "fallow", 0.02, R::ignored},
          {"351", "LSE HECKE / UFERGEHÖLZ", "hedge", 0.005, R::ignored},
          {"1751", "ÖLKÜRBIS (NEUER CODE)", "pumpkin", 0.005, R::unknown},
          {"1509", "MOHN (NEUER CODE)", "poppy", 0.003, R::unknown},
          {"1118", "HIRSE (NEUER CODE)", "millet", 0.002, R::unknown},
      }};
  static const RegisterStyle rpg{
      "rpg",
      2154,
      "CODE_CULTU",
      false,
      "",
      "ID_PARCEL",
      true,
      "PARCELLES_GRAPHIQUES",
      "configs/legends/france_turkoglu.yaml",
      {
          {"PPH", "", "meadow_2cut", 0.16, R::crop},
          {"PRL", "", "pasture", 0.02, R::crop},
          {"PTR", "", "meadow_3cut", 0.08, R::crop},
          {"LUZ", "", "alfalfa", 0.025, R::crop},
          {"TRE", "", "clover_grass", 0.01, R::crop},
          {"BTH", "", "winter_wheat", 0.17, R::crop},
          {"BDH", "", "winter_wheat", 0.01, R::crop},
          {"ORH", "", "winter_barley", 0.07, R::crop},
          {"ORP", "", "spring_cereal", 0.03, R::crop},
          {"TTH", "", "winter_triticale", 0.025, R::crop},
          {"MIS", "", "maize", 0.10, R::crop},
          {"MIE", "", "maize", 0.02, R::crop},
          {"CZH", "", "rapeseed", 0.06, R::crop},
          {"TRN", "", "sunflower", 0.04, R::crop},
          {"SOJ", "", "soybean", 0.01, R::crop},
          {"PPR", "", "peas", 0.015, R::crop},
          {"FEV", "", "peas", 0.005, R::crop},
          {"BTN", "", "sugar_beet", 0.015, R::crop},
          {"PTC", "", "potato", 0.01, R::crop},
          {"VRC", "", "permanent", 0.02, R::crop},
          {"VRG", "", "permanent", 0.01, R::crop},
          {"BOP", "", "forest", 0.01, R::ignored},
          {"SNE", "", "fallow", 0.01, R::ignored},
          {"J6S", "", "fallow", 0.01, R::ignored},
          {"ZZZ", "", "millet", 0.004, R::unknown},
          {"FVT", "", "poppy", 0.003, R::unknown},
          {"BDT", "", "pumpkin", 0.003, R::unknown},
      }};
  if (name == "invekos") return invekos;
  if (name == "rpg") return rpg;
  throw std::invalid_argument("unknown register style '" + name + "' (expected invekos or rpg)");
}

}  // namespace cropmap::synth
