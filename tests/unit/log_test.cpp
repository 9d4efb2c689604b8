#include <gtest/gtest.h>

#include "pipeline/log.hpp"

using namespace cropmap;

TEST(Log, Rank0PrintsInfoOthersOnlyWarnings) {
  log::configure(0, log::Level::info, false);
  EXPECT_TRUE(log::enabled(log::Level::info));
  EXPECT_FALSE(log::enabled(log::Level::debug));
  log::configure(3, log::Level::info, false);
  EXPECT_FALSE(log::enabled(log::Level::info));
  EXPECT_TRUE(log::enabled(log::Level::warn));
  EXPECT_TRUE(log::enabled(log::Level::error));
  log::configure(3, log::Level::info, true);
  EXPECT_TRUE(log::enabled(log::Level::info));
  log::configure(0, log::Level::error, false);
  EXPECT_FALSE(log::enabled(log::Level::warn));
}

TEST(Log, LinesAreTaggedWithTheRank) {
  log::configure(1, log::Level::debug, true);
  testing::internal::CaptureStderr();
  log::info("composite tile ", "33UVP", " block (", 2, ",", 5, "): done");
  log::warn("scene skipped");
  const std::string out = testing::internal::GetCapturedStderr();
  EXPECT_NE(out.find("[rank 1] composite tile 33UVP block (2,5): done\n"), std::string::npos) << out;
  EXPECT_NE(out.find("[rank 1] warning: scene skipped\n"), std::string::npos) << out;
  log::configure(0, log::Level::info, false);
}

TEST(Log, ParsesLevels) {
  EXPECT_EQ(log::parseLevel("debug"), log::Level::debug);
  EXPECT_EQ(log::parseLevel("warn"), log::Level::warn);
  EXPECT_THROW(log::parseLevel("loud"), std::invalid_argument);
}
