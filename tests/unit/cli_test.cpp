// The cropmap executable's front end: exit codes and messages a user sees.
#include <gtest/gtest.h>

#include "tests/support/test_support.hpp"

using namespace cropmap::test;

TEST(Cli, HelpListsCommands) {
  auto r = runCropmap("--help");
  EXPECT_EQ(r.exitCode, 0);
  EXPECT_NE(r.output.find("version"), std::string::npos);
  EXPECT_NE(r.output.find("config"), std::string::npos);
  EXPECT_EQ(runCropmap("config --help").exitCode, 0);
  EXPECT_NE(runCropmap("config --help").output.find("--dump"), std::string::npos);
}

TEST(Cli, NoCommandIsAUsageError) { EXPECT_EQ(runCropmap("").exitCode, 2); }

TEST(Cli, UnknownCommandExits2WithHint) {
  auto r = runCropmap("compose");
  EXPECT_EQ(r.exitCode, 2);
  EXPECT_NE(r.output.find("'compose' is not a cropmap command"), std::string::npos) << r.output;
  EXPECT_NE(r.output.find("cropmap --help"), std::string::npos);
}

TEST(Cli, UnknownFlagExits2WithHint) {
  auto r = runCropmap("config --dmp");
  EXPECT_EQ(r.exitCode, 2);
  EXPECT_NE(r.output.find("cropmap config --help"), std::string::npos) << r.output;
  EXPECT_EQ(runCropmap("version --config x.yaml").exitCode, 2);  // version takes no configuration
}

TEST(Cli, VersionReportsParallelHdf5) {
  auto r = runCropmap("version");
  EXPECT_EQ(r.exitCode, 0);
  for (const char* s : {"cropmap", "MPI:", "Open MPI", "GDAL:", "HDF5:", "parallel", "LibTorch:", "NCCL:", "build type:"})
    EXPECT_NE(r.output.find(s), std::string::npos) << s << " missing in\n" << r.output;
}

TEST(Cli, BadConfigExits2WithFileLineKey) {
  const std::string dir = scratchDir("cli_bad_config");
  writeFile(dir + "/bad.yaml", "run:\n  name: x\ncomposite:\n  period: mnth\n");
  auto r = runCropmap("config --config " + dir + "/bad.yaml");
  EXPECT_EQ(r.exitCode, 2);
  EXPECT_NE(r.output.find(dir + "/bad.yaml:4: key 'composite.period': expected one of month|half_month|dekad|custom, got 'mnth'"),
            std::string::npos)
      << r.output;
  r = runCropmap("config --set composite.year=1999");
  EXPECT_EQ(r.exitCode, 2);
  EXPECT_NE(r.output.find("--set: key 'composite.year': value 1999 out of range"), std::string::npos) << r.output;
  EXPECT_EQ(runCropmap("config --config " + dir + "/missing.yaml").exitCode, 2);
  EXPECT_EQ(runCropmap("config --config " + dir + "/bad.yaml --log-level loud").exitCode, 2);
}

TEST(Cli, DumpIsValidYamlThatLoadsBack) {
  const std::string dir = scratchDir("cli_dump");
  auto r = runCommand(std::string(CROPMAP_EXE) + " config --dump > " + dir + "/d.yaml");
  ASSERT_EQ(r.exitCode, 0) << r.output;
  auto back = runCommand(std::string(CROPMAP_EXE) + " config --config " + dir + "/d.yaml --dump");
  EXPECT_EQ(back.exitCode, 0);
  EXPECT_EQ(back.output, readFile(dir + "/d.yaml"));
}

TEST(Cli, CheckingAGoodConfig) {
  auto r = runCommand("cd " + std::string(CROPMAP_SOURCE_DIR) + " && " + CROPMAP_EXE + " config --config configs/demo.yaml");
  EXPECT_EQ(r.exitCode, 0) << r.output;
  EXPECT_NE(r.output.find("configs/demo.yaml: ok"), std::string::npos);
}
