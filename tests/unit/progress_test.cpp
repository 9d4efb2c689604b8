#include <gtest/gtest.h>

#include "pipeline/progress.hpp"

using cropmap::Progress;

TEST(Progress, FormatsDurations) {
  EXPECT_EQ(Progress::formatDuration(0), "0:00");
  EXPECT_EQ(Progress::formatDuration(65), "1:05");
  EXPECT_EQ(Progress::formatDuration(3723), "1:02:03");
  EXPECT_EQ(Progress::formatDuration(-1), "--");
}

TEST(Progress, LineShowsDoneTotalRateAndEta) {
  Progress::setTerminal(0);
  Progress p("composite", 10, "blocks", false);
  p.set(5);
  const std::string line = p.line();
  EXPECT_NE(line.find("composite 5/10 blocks (50%)"), std::string::npos) << line;
  EXPECT_NE(line.find("blocks/s"), std::string::npos) << line;
  EXPECT_NE(line.find("ETA"), std::string::npos) << line;
  p.set(10);
  EXPECT_EQ(p.line().find("ETA"), std::string::npos) << "no ETA once done";
}

TEST(Progress, TerminalModeDrawsABar) {
  Progress::setTerminal(1);
  Progress p("train", 4, "epochs", false);
  p.set(2);
  EXPECT_NE(p.line().find("[############............]"), std::string::npos) << p.line();
  Progress::setTerminal(-1);
}
