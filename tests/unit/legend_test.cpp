#include <gtest/gtest.h>

#include <tuple>

#include "pipeline/legend.hpp"
#include "tests/support/test_support.hpp"

using namespace cropmap;

static std::string errorOf(const std::string& yaml) {
  try {
    Legend::parse(yaml, "l.yaml");
  } catch (const std::exception& e) {
    return e.what();
  }
  return "";
}

TEST(Legend, ParsesClassesGroupsAndIgnore) {
  Legend L = Legend::parse(
      "name: t\ngroups:\n  - {id: 0, name: cereals}\n  - {id: 1, name: grass}\n"
      "classes:\n  - {id: 1, name: wheat, colour: \"#ff0000\", codes: [BTH, BTP], group: cereals}\n"
      "  - {id: 0, name: meadow, codes: [PPH], group: grass}\nignore: [BOP]\n",
      "l.yaml");
  ASSERT_EQ(L.numClasses(), 2);
  EXPECT_EQ(L.classes[0].name, "meadow");  // sorted by id
  EXPECT_EQ(L.classOf("BTP"), 1);
  EXPECT_EQ(L.classOf("BTP", 1), 0);
  EXPECT_EQ(L.classOf("PPH", 1), 1);
  EXPECT_EQ(L.classOf("BOP"), Legend::kIgnored);
  EXPECT_EQ(L.classOf("XYZ"), Legend::kUnknown);
  EXPECT_EQ(L.classes[1].colour[0], 255);
  EXPECT_EQ(L.classNames(1), (std::vector<std::string>{"cereals", "grass"}));
}

// Rare classes merged into their group's class or dropped (labels.merge_classes,
// labels.drop_classes): codes follow, ids close up, the group's class is added
// when the legend has none of that name.
TEST(Legend, MergeIntoGroupAndDrop) {
  const Legend L = Legend::parse(
      "groups:\n  - {id: 0, name: cereals}\n  - {id: 1, name: other crops}\n"
      "classes:\n  - {id: 0, name: cereals, codes: [WHT], group: cereals}\n"
      "  - {id: 1, name: spelt, codes: [SPL], group: cereals}\n"
      "  - {id: 2, name: caraway, codes: [CAR], group: other crops}\n"
      "  - {id: 3, name: poppy, codes: [POP, PO2], group: other crops}\n"
      "  - {id: 4, name: beet, codes: [BET], group: other crops}\n",
      "l.yaml");
  const Legend M = L.withChanges({"spelt", "caraway", "poppy"}, {"beet"});
  EXPECT_EQ(M.classNames(), (std::vector<std::string>{"cereals", "other crops"}));
  EXPECT_EQ(M.classOf("WHT"), 0);
  EXPECT_EQ(M.classOf("SPL"), 0);  // into the existing class named after its group
  EXPECT_EQ(M.classOf("CAR"), 1);  // a new class "other crops"
  EXPECT_EQ(M.classOf("PO2"), 1);
  EXPECT_EQ(M.classOf("BET"), Legend::kIgnored);
  EXPECT_EQ(M.classOf("BET", 0), Legend::kIgnored);
  EXPECT_EQ(M.classes[1].group, 1);
  EXPECT_EQ(L.withChanges({}, {}).classNames(), L.classNames());
  auto error = [&](std::vector<std::string> merge, std::vector<std::string> drop) {
    try {
      L.withChanges(merge, drop);
    } catch (const std::exception& e) {
      return std::string(e.what());
    }
    return std::string();
  };
  EXPECT_NE(error({"oats"}, {}).find("'oats' is not a class of l.yaml"), std::string::npos);
  EXPECT_NE(error({}, {"cereals", "spelt", "caraway", "poppy", "beet"}).find("leave no class"), std::string::npos);
  EXPECT_NE(error({"beet"}, {"beet"}).find("both"), std::string::npos);
  const Legend flat = Legend::parse("classes:\n  - {id: 0, name: a, codes: [A]}\n", "f.yaml");
  EXPECT_NE(std::string([&] {
              try {
                flat.withChanges({"a"}, {});
              } catch (const std::exception& e) {
                return std::string(e.what());
              }
              return std::string();
            }())
                .find("declares no groups"),
            std::string::npos);
}

TEST(Legend, Errors) {
  EXPECT_NE(errorOf("classes: []\n").find("non-empty list"), std::string::npos);
  EXPECT_NE(errorOf("classes:\n  - {id: 1, name: a, codes: [X]}\n").find("class ids must be 0..0"), std::string::npos);
  EXPECT_NE(errorOf("classes:\n  - {id: 0, name: a, codes: [X]}\n  - {id: 1, name: b, codes: [X]}\n")
                .find("code 'X' belongs to two classes"),
            std::string::npos);
  EXPECT_NE(errorOf("classes:\n  - {id: 0, name: a, codes: [X], colour: red}\n").find("#RRGGBB"), std::string::npos);
  EXPECT_NE(errorOf("classes:\n  - {id: 0, name: a, codes: [X], group: g}\n").find("undeclared group"),
            std::string::npos);
  EXPECT_NE(errorOf("classes:\n  - {id: 0, name: a, codes: [X]}\nignore: [X]\n").find("both a class code and ignored"),
            std::string::npos);
  EXPECT_NE(errorOf("clases: []\n").find("l.yaml:1: legend: unknown key 'clases'"), std::string::npos);
}

TEST(Legend, ShippedLegendsLoad) {
  Legend a = Legend::load(test::sourcePath("configs/legends/austria.yaml"));
  EXPECT_EQ(a.numClasses(), 15);
  EXPECT_EQ(a.classNames()[14], "permanent plantations");
  Legend b = Legend::load(test::sourcePath("configs/legends/bavaria.yaml"));
  EXPECT_EQ(b.numClasses(), 7);
  Legend f = Legend::load(test::sourcePath("configs/legends/france_turkoglu.yaml"));
  EXPECT_GT(f.numClasses(1), 1);
  EXPECT_EQ(f.classOf("BTH", 1), f.classOf("ORH", 1));  // both cereals
}

TEST(Legend, FrenchRpgGroups) {
  using cropmap::Legend;
  const Legend L = Legend::load(cropmap::test::sourcePath("configs/legends/france_rpg_groups.yaml"));
  EXPECT_EQ(L.numClasses(0), 23);
  EXPECT_EQ(L.numClasses(1), 5);
  EXPECT_EQ(L.classOf("1"), 0);
  EXPECT_EQ(L.classOf("27"), 22);
  EXPECT_EQ(L.classOf("21", 1), 3);  // vineyards -> permanent crops
  for (const char* gel : {"11", "12", "13", "28"}) EXPECT_EQ(L.classOf(gel), Legend::kIgnored) << gel;
  EXPECT_EQ(L.classOf("29"), Legend::kUnknown);
  // Every RPG group code 1..28 is either a class or ignored.
  for (int code = 1; code <= 28; ++code) EXPECT_NE(L.classOf(std::to_string(code)), Legend::kUnknown) << code;
}

namespace {

std::string tableError(const std::string& table, const std::string& map) {
  const std::string d = cropmap::test::scratchDir("legend_table_err");
  cropmap::test::writeFile(d + "/t.csv", table);
  if (!map.empty()) cropmap::test::writeFile(d + "/m.yaml", map);
  try {
    cropmap::legendFromTable(cropmap::CodeTable::read(d + "/t.csv"), map.empty() ? "" : d + "/m.yaml", "x");
  } catch (const std::exception& e) {
    return e.what();
  }
  return "";
}

}  // namespace

// The official RPG table's layout: ';', a byte-order mark, quoted names with ';' in them.
TEST(LegendFromTable, RpgTableGroupsBecomeClasses) {
  const std::string d = cropmap::test::scratchDir("legend_rpg");
  cropmap::test::writeFile(d + "/REF_CULTURES_GROUPES_CULTURES_2021.csv",
                           "\xEF\xBB\xBF" "CODE_CULTURE;LIBELLE_CULTURE;CODE_GROUPE_CULTURE;LIBELLE_GROUPE_CULTURE\r\n"
                           "BTH;Blé tendre d’hiver;1;Blé tendre\r\n"
                           "BTP;Blé tendre de printemps;1;Blé tendre\r\n"
                           "MIS;Maïs;2;Maïs grain et ensilage\r\n"
                           "PHI;\"Pois d’hiver; protéagineux\";15;Protéagineux\r\n");
  const auto t = cropmap::CodeTable::read(d + "/REF_CULTURES_GROUPES_CULTURES_2021.csv");
  EXPECT_EQ(t.codeColumn, "CODE_CULTURE");
  EXPECT_EQ(t.classColumn, "LIBELLE_GROUPE_CULTURE");
  ASSERT_EQ(t.rows.size(), 4u);
  EXPECT_EQ(t.rows[3].name, "Pois d’hiver; protéagineux");
  const Legend L = Legend::parse(cropmap::legendFromTable(t, "", "rpg"), "built");
  ASSERT_EQ(L.numClasses(), 3);
  EXPECT_EQ(L.classNames()[0], "Blé tendre");
  EXPECT_EQ(L.classOf("BTP"), 0);
  EXPECT_EQ(L.classOf("PHI"), 2);
  EXPECT_EQ(L.codeNames.at("MIS"), "Maïs");
}

TEST(LegendFromTable, ClassMapsNameOnlyWhatTheTableHas) {
  const std::string table =
      "original_code,original_name,translated_name,HCAT3_name,HCAT3_code\n"
      "PHI,Pois d’hiver,Winter peas,peas,3301020600\n"
      "PPR,Pois de printemps,Spring peas,peas,3301020600\n"
      "BTH,Blé tendre d’hiver,Soft winter wheat,winter_common_soft_wheat,3301010101\n"
      "BOP,Bois pâturé,Grazed wood,other_tree_wood_forest,3306990000\n"
      ",,Soft winter wheat,fresh_vegetables,3301070000\n";
  EXPECT_NE(tableError(table, "classes:\n  - {name: peas, codes: [POS, POH]}\n").find("code 'POS' is not in"),
            std::string::npos);
  EXPECT_NE(tableError(table, "classes:\n  - {name: peas, from: [pea]}\n").find("'pea' is no HCAT3_name"),
            std::string::npos);
  EXPECT_NE(tableError("code,class\nA,x\nA,y\n", "").find("listed again with another class"), std::string::npos);

  const std::string d = cropmap::test::scratchDir("legend_map");
  cropmap::test::writeFile(d + "/t.csv", table);
  cropmap::test::writeFile(d + "/m.yaml",
                           "name: fr\ngroups: [{id: 0, name: crops}]\nclasses:\n"
                           "  - {name: peas, group: crops, from: [peas]}\n"
                           "  - {name: wheat, colour: \"#d95f02\", group: crops, codes: [BTH]}\n");
  const auto t = cropmap::CodeTable::read(d + "/t.csv");
  EXPECT_EQ(t.continuations, 1);
  const std::string yaml = cropmap::legendFromTable(t, d + "/m.yaml", "");
  const Legend L = Legend::parse(yaml, "built");
  EXPECT_EQ(L.name, "fr");
  EXPECT_EQ(L.classOf("PPR"), 0);
  EXPECT_EQ(L.classOf("BTH"), 1);
  EXPECT_EQ(L.classOf("BOP"), Legend::kIgnored);  // in the table, left out on purpose
  EXPECT_EQ(L.classOf("POS"), Legend::kUnknown);
  EXPECT_NE(yaml.find("other_tree_wood_forest (1 codes)"), std::string::npos) << yaml;
  EXPECT_NE(yaml.find("table_fnv1a"), std::string::npos);
}

// The shipped legends are what `cropmap legend --from-csv` builds from the
// committed code tables and class maps, byte for byte.
TEST(LegendFromTable, ShippedLegendsAreBuiltFromTheTables) {
  const auto src = [](const std::string& p) { return cropmap::test::sourcePath("configs/legends/" + p); };
  for (const auto& [table, map, legend] :
       {std::tuple{"tables/eurocrops_at_2021.csv", "austria_classes.yaml", "austria.yaml"},
        std::tuple{"tables/eurocrops_fr_2018.csv", "france_turkoglu_classes.yaml", "france_turkoglu.yaml"},
        std::tuple{"tables/eurocrops_at_2021.csv", "", "eurocrops_at_hcat3.yaml"}}) {
    const auto t = cropmap::CodeTable::read(src(table));
    std::string built = cropmap::legendFromTable(t, std::string(map).empty() ? "" : src(map),
                                                 std::string(map).empty() ? "eurocrops-at-hcat3" : "");
    // Paths differ between checkouts; the file names in `source` do not.
    EXPECT_EQ(built, cropmap::test::readFile(src(legend))) << legend << " is stale: rebuild it with cropmap legend";
  }
  const Legend a = Legend::load(src("austria.yaml"));
  EXPECT_EQ(a.classOf("105"), 2);   // KÖRNERMAIS -> maize
  EXPECT_EQ(a.classOf("717"), 1);   // MÄHWIESE/-WEIDE DREI UND MEHR NUTZUNGEN -> grassland
  EXPECT_EQ(a.classOf("145"), 12);  // WINTERDINKEL (SPELZ) -> winter wheat
  EXPECT_EQ(a.classOf("351"), Legend::kIgnored);  // LSE HECKE / UFERGEHÖLZ
  EXPECT_EQ(a.codeNames.at("105"), "KÖRNERMAIS");
  const Legend f = Legend::load(src("france_turkoglu.yaml"));
  EXPECT_EQ(f.classOf("PHI"), f.classOf("PPR"));
  EXPECT_GE(f.classOf("RGA"), 0);
  EXPECT_EQ(f.classOf("POS"), Legend::kUnknown);  // no such RPG code
  // Without a class map: one class per HCAT class, every code of the table labelled.
  const Legend h = Legend::load(src("eurocrops_at_hcat3.yaml"));
  EXPECT_GT(h.numClasses(), 50);
  EXPECT_TRUE(h.ignore.empty());
  EXPECT_EQ(h.classNames()[static_cast<size_t>(h.classOf("105"))], "grain_maize_corn_popcorn");

  // One legend over the Austrian and the French tables: the same class ids for both registers.
  const auto at = cropmap::CodeTable::read(src("tables/eurocrops_at_2021.csv"));
  const auto fr = cropmap::CodeTable::read(src("tables/eurocrops_fr_2018.csv"));
  const auto both = cropmap::CodeTable::combine({at, fr});
  EXPECT_EQ(both.rows.size(), at.rows.size() + fr.rows.size());
  EXPECT_EQ(cropmap::legendFromTable(both, "", "eurocrops-hcat3"), cropmap::test::readFile(src("eurocrops_hcat3.yaml")))
      << "eurocrops_hcat3.yaml is stale: rebuild it with cropmap legend";
  const Legend x = Legend::load(src("eurocrops_hcat3.yaml"));
  EXPECT_TRUE(x.ignore.empty());
  EXPECT_EQ(x.classOf("105"), x.classOf("MIS"));  // KÖRNERMAIS and Maïs
  EXPECT_EQ(x.classOf("140"), x.classOf("BTH"));  // WINTERWEICHWEIZEN and Blé tendre d'hiver
  EXPECT_EQ(x.classNames()[static_cast<size_t>(x.classOf("MIS"))], "grain_maize_corn_popcorn");
  // A code in two tables cannot say which register it belongs to.
  try {
    cropmap::CodeTable::combine({at, at});
    ADD_FAILURE() << "a code in two tables was accepted";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("is in two tables"), std::string::npos) << e.what();
  }
}
