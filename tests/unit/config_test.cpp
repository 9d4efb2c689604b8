// Configuration: loading, every kind of bad file, overrides, dump round trip.
#include <gtest/gtest.h>

#include <filesystem>

#include "pipeline/config.hpp"
#include "tests/support/test_support.hpp"

using namespace cropmap;
using cropmap::test::scratchDir;
using cropmap::test::sourcePath;
using cropmap::test::writeFile;

namespace {

// Loads YAML text from a scratch file and returns the error (empty when it loads).
struct Loaded {
  std::string error;
  std::string file;
  int line = 0;
  std::string key;
};

Loaded tryLoad(const std::string& yaml, const std::vector<std::string>& sets = {}) {
  static int n = 0;
  const std::string dir = scratchDir("config_test_" + std::to_string(n++));
  const std::string path = dir + "/c.yaml";
  writeFile(path, yaml);
  Loaded out;
  try {
    Config::load(path, sets);
  } catch (const ConfigError& e) {
    out.error = e.what();
    out.file = e.file();
    out.line = e.line();
    out.key = e.key();
  }
  return out;
}

class InSourceDir : public ::testing::Test {
 protected:
  void SetUp() override {
    old_ = std::filesystem::current_path();
    std::filesystem::current_path(CROPMAP_SOURCE_DIR);  // configs name legends relative to the repository
  }
  void TearDown() override { std::filesystem::current_path(old_); }
  std::filesystem::path old_;
};

}  // namespace

TEST(Config, DefaultsValidate) { EXPECT_NO_THROW(Config::defaults().validate()); }

TEST_F(InSourceDir, ShippedConfigsValidate) {
  for (const char* name : {"configs/demo.yaml", "configs/austria.yaml", "configs/france.yaml", "configs/bavaria.yaml"}) {
    SCOPED_TRACE(name);
    Config c;
    ASSERT_NO_THROW(c = Config::load(name));
    EXPECT_EQ(c.source, name);
  }
  Config austria = Config::load("configs/austria.yaml");
  EXPECT_EQ(austria.inputs.tiles, (std::vector<std::string>{"33UUP", "33UVP", "33UWP"}));
  EXPECT_EQ(austria.composite.start_month, 9);
  Config france = Config::load("configs/france.yaml");
  EXPECT_EQ(france.split.mode, "region_holdout");
  EXPECT_EQ(france.split.holdout, 1);
  EXPECT_DOUBLE_EQ(france.split.grid_km, 10.0);
}

TEST(Config, ValuesOfEveryType) {
  const std::string dir = scratchDir("config_types");
  writeFile(dir + "/c.yaml",
            "run:\n  name: x\n  seed: 7\nlog:\n  all_ranks: yes\n  progress_interval: 0.5\n"
            "composite:\n  scl_keep: [4, 5]\n  indices: [NDVI, GNDVI]\nsplit:\n  ratios: [0.5, 0.25, 0.25]\n");
  Config c = Config::load(dir + "/c.yaml");
  EXPECT_EQ(c.run.name, "x");
  EXPECT_EQ(c.run.seed, 7);
  EXPECT_TRUE(c.log.all_ranks);
  EXPECT_DOUBLE_EQ(c.log.progress_interval, 0.5);
  EXPECT_EQ(c.composite.scl_keep, (std::vector<int>{4, 5}));
  EXPECT_EQ(c.composite.indices.size(), 2u);
  EXPECT_DOUBLE_EQ(c.split.ratios[1], 0.25);
  EXPECT_EQ(c.origin.at("run.seed"), std::make_pair(dir + "/c.yaml", 3));
}

TEST(Config, EmptyFileGivesDefaults) {
  auto r = tryLoad("");
  EXPECT_TRUE(r.error.empty()) << r.error;
}

TEST(Config, UnknownKeyNamesFileLineAndKey) {
  auto r = tryLoad("run:\n  name: a\n  ouput: b\n");
  EXPECT_EQ(r.line, 3);
  EXPECT_EQ(r.key, "run.ouput");
  EXPECT_NE(r.error.find("c.yaml:3: key 'run.ouput': unknown key"), std::string::npos) << r.error;
  EXPECT_NE(r.error.find("did you mean 'run.output'"), std::string::npos) << r.error;
}

TEST(Config, UnknownSection) {
  auto r = tryLoad("compsite:\n  year: 2020\n");
  EXPECT_EQ(r.line, 1);
  EXPECT_EQ(r.key, "compsite");
}

TEST(Config, WrongTypes) {
  EXPECT_EQ(tryLoad("run:\n  seed: abc\n").key, "run.seed");
  EXPECT_NE(tryLoad("run:\n  seed: abc\n").error.find("expected an integer, got 'abc'"), std::string::npos);
  EXPECT_NE(tryLoad("run:\n  seed: 1.5\n").error.find("expected an integer"), std::string::npos);
  EXPECT_NE(tryLoad("log:\n  all_ranks: maybe\n").error.find("expected true or false"), std::string::npos);
  EXPECT_NE(tryLoad("log:\n  progress_interval: fast\n").error.find("expected a number"), std::string::npos);
  EXPECT_NE(tryLoad("composite:\n  scl_keep: 4\n").error.find("expected a list"), std::string::npos);
  EXPECT_NE(tryLoad("composite:\n  scl_keep: [4, x]\n").error.find("expected an integer, got 'x'"), std::string::npos);
  EXPECT_NE(tryLoad("run:\n  name: [a, b]\n").error.find("expected a string, got a list"), std::string::npos);
  EXPECT_NE(tryLoad("run: 5\n").error.find("expected a section"), std::string::npos);
  EXPECT_NE(tryLoad("- a\n- b\n").error.find("expected a mapping of sections"), std::string::npos);
}

TEST(Config, OutOfRangeAndEnum) {
  auto r = tryLoad("composite:\n  start_month: 13\n");
  EXPECT_EQ(r.line, 2);
  EXPECT_NE(r.error.find("key 'composite.start_month': value 13 out of range 1..12"), std::string::npos) << r.error;
  r = tryLoad("composite:\n  period: mnth\n");
  EXPECT_NE(r.error.find("key 'composite.period': expected one of month|half_month|dekad|custom, got 'mnth'"), std::string::npos)
      << r.error;
  r = tryLoad("composite:\n  scl_keep:\n    - 4\n    - 12\n");
  EXPECT_EQ(r.line, 4);  // the offending list item's own line
  r = tryLoad("inputs:\n  bands: [B04, B99]\n");
  EXPECT_NE(r.error.find("got 'B99'"), std::string::npos);
}

TEST(Config, InvalidYamlSyntax) {
  auto r = tryLoad("run:\n  name: [a, b\n");
  EXPECT_GT(r.line, 0);
  EXPECT_NE(r.error.find("invalid YAML"), std::string::npos) << r.error;
}

TEST(Config, CrossChecksNameTheKeyAndItsLine) {
  auto r = tryLoad("composite:\n  block_size: 100\n  chunk: 64\n");
  EXPECT_EQ(r.key, "composite.chunk");
  EXPECT_EQ(r.line, 3);
  r = tryLoad("split:\n  ratios: [0.5, 0.5, 0.5]\n");
  EXPECT_NE(r.error.find("add up to 1"), std::string::npos);
  r = tryLoad("composite:\n  period: custom\n  edges: [2022-01-01, 2021-06-01]\n");
  EXPECT_NE(r.error.find("dates must increase"), std::string::npos) << r.error;
  r = tryLoad("inputs:\n  tiles: [33uvp]\n");
  EXPECT_NE(r.error.find("not a Sentinel-2 tile id"), std::string::npos);
  r = tryLoad("inputs:\n  bands: [B02, B03]\ncomposite:\n  indices: [NDVI]\n");
  EXPECT_NE(r.error.find("NDVI needs bands B04 and B08"), std::string::npos);
  r = tryLoad("labels:\n  legend: /nonexistent/legend.yaml\n");
  EXPECT_EQ(r.key, "labels.legend");
  EXPECT_NE(r.error.find("cannot read the legend file"), std::string::npos);
}

TEST(Config, MissingFile) {
  try {
    Config::load("/nonexistent/cropmap.yaml");
    FAIL() << "expected ConfigError";
  } catch (const ConfigError& e) {
    EXPECT_EQ(e.file(), "/nonexistent/cropmap.yaml");
    EXPECT_NE(std::string(e.what()).find("cannot read"), std::string::npos);
  }
}

TEST(Config, OverridesWinOverFileAndLaterOverridesWin) {
  const std::string dir = scratchDir("config_override");
  writeFile(dir + "/c.yaml", "run:\n  seed: 1\ncomposite:\n  scl_keep: [4]\n");
  Config c = Config::load(dir + "/c.yaml", {"run.seed=2", "run.seed=3", "composite.scl_keep=[5, 6]",
                                            "run.name=hello world"});
  EXPECT_EQ(c.run.seed, 3);
  EXPECT_EQ(c.composite.scl_keep, (std::vector<int>{5, 6}));
  EXPECT_EQ(c.run.name, "hello world");
  EXPECT_EQ(c.origin.at("run.seed").first, "--set");
}

TEST(Config, BadOverrides) {
  auto expectError = [](const std::string& set, const std::string& fragment) {
    try {
      Config::load("", {set});
      ADD_FAILURE() << "expected an error for --set " << set;
    } catch (const ConfigError& e) {
      EXPECT_NE(std::string(e.what()).find(fragment), std::string::npos) << e.what();
      EXPECT_EQ(e.file(), "--set");
    }
  };
  expectError("run.seed", "expected section.key=value");
  expectError("run.sed=4", "unknown key");
  expectError("run=4", "is a section");
  expectError("run.seed=-1", "out of range");
  expectError("composite.chunk=48", "must divide");  // cross-check after overrides
}

TEST(Config, DumpLoadsBackUnchanged) {
  const std::string dump = Config::defaults().dump();
  const std::string dir = scratchDir("config_dump");
  writeFile(dir + "/dump.yaml", dump);
  Config back = Config::load(dir + "/dump.yaml");
  EXPECT_EQ(back.dump(), dump);
  EXPECT_EQ(back.yaml(), Config::defaults().yaml());
}

TEST_F(InSourceDir, EffectiveDumpRoundTripsWithOverrides) {
  Config c = Config::load("configs/france.yaml", {"run.name=with \"quotes\" and \\ backslash", "log.progress_interval=0.1"});
  const std::string dir = scratchDir("config_dump_eff");
  writeFile(dir + "/eff.yaml", c.dump());
  Config back = Config::load(dir + "/eff.yaml");
  EXPECT_EQ(back.yaml(), c.yaml());
  EXPECT_EQ(back.run.name, c.run.name);
  EXPECT_DOUBLE_EQ(back.log.progress_interval, 0.1);
}

TEST(Config, DumpDocumentsEveryOption) {
  const std::string dump = Config::defaults().dump();
  Config c;
  Declarer d;
  c.declare(d);
  for (const auto& o : d.options()) {
    if (o.isSection()) continue;
    EXPECT_FALSE(o.doc.empty()) << o.path << " has no doc line";
    const auto dot = o.path.rfind('.');
    EXPECT_NE(dump.find(o.path.substr(dot + 1) + ":"), std::string::npos) << o.path;
  }
  EXPECT_NE(dump.find("one of: month|half_month|dekad|custom"), std::string::npos);
  EXPECT_NE(dump.find("range: 1..12"), std::string::npos);
}

TEST(Config, ThreadsFromSlurm) {
  Config c;
  c.compute.threads = 0;
  setenv("SLURM_CPUS_PER_TASK", "3", 1);
  EXPECT_EQ(c.threads(), 3);
  unsetenv("SLURM_CPUS_PER_TASK");
  EXPECT_EQ(c.threads(), 1);
  c.compute.threads = 2;
  EXPECT_EQ(c.threads(), 2);
}

TEST(Config, SectionYamlHoldsOnlyThatSection) {
  Config c;
  c.composite.chunk = 32;
  const std::string s = c.sectionYaml("composite");
  EXPECT_EQ(s.rfind("composite:\n", 0), 0u) << s;
  EXPECT_NE(s.find("  chunk: 32\n"), std::string::npos) << s;
  EXPECT_EQ(s.find("run:"), std::string::npos);
  EXPECT_THROW(c.sectionYaml("nosuch"), std::invalid_argument);
}

TEST(Config, SynthEnabledDefaultsInputsParcelsAndZones) {
  Config c = Config::load("", {"synth.enabled=true", "run.output=o", "synth.output=s"});
  EXPECT_EQ(c.inputs.safe, (std::vector<std::string>{"o/s/safe"}));
  EXPECT_EQ(c.labels.parcels, "o/s/parcels.gpkg");
  EXPECT_EQ(c.split.zones, "o/s/zones.gpkg");
  Config g = Config::load("", {"synth.enabled=true", "synth.layout=geotiff", "labels.parcels=p.gpkg"});
  EXPECT_TRUE(g.inputs.safe.empty());
  EXPECT_EQ(g.inputs.geotiff.size(), 1u);
  EXPECT_EQ(g.labels.parcels, "p.gpkg");  // explicit values win
  Config off = Config::load("", {});
  EXPECT_TRUE(off.inputs.safe.empty());
  EXPECT_TRUE(off.labels.parcels.empty());
}
