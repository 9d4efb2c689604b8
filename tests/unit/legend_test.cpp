#include <gtest/gtest.h>

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
