// A fatal error on one rank ends the whole job promptly, its message printed once
// and tagged with the failing rank. The test launches mpiexec itself.
#include <gtest/gtest.h>

#include "tests/support/test_support.hpp"

using namespace cropmap::test;

static void expectPromptAbort(int ranks, int failing) {
  const auto r = runCommand("timeout 60 " + std::string(CROPMAP_MPIEXEC) + " -n " + std::to_string(ranks) + " " +
                            ABORT_PROBE + " " + std::to_string(failing));
  EXPECT_NE(r.exitCode, 0) << r.output;
  EXPECT_NE(r.exitCode, 124) << "the job hung until the timeout:\n" << r.output;
  const std::string msg = "[rank " + std::to_string(failing) + "] error: composite tile 33UVP block (2,5)";
  EXPECT_EQ(countOccurrences(r.output, msg), 1u) << r.output;
  EXPECT_EQ(countOccurrences(r.output, "simulated read failure"), 1u) << r.output;
}

TEST(Abort, OneRankOfTwo) { expectPromptAbort(2, 1); }
TEST(Abort, OneRankOfFour) { expectPromptAbort(4, 2); }
TEST(Abort, RankZero) { expectPromptAbort(2, 0); }
