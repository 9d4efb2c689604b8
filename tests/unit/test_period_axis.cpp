// The period axis of composite.period: months, half months, dekads and custom
// edges; every day of the year falls in exactly one period.
#include <gtest/gtest.h>

#include "pipeline/period_axis.hpp"

using namespace cropmap;

namespace {

CompositeSection section(const std::string& period, int year, int startMonth) {
  CompositeSection c;
  c.period = period;
  c.year = year;
  c.start_month = startMonth;
  return c;
}

}  // namespace

TEST(PeriodAxis, MonthsFromStartMonthAcrossTheYearEnd) {
  const auto a = PeriodAxis::fromConfig(section("month", 2021, 9));
  ASSERT_EQ(a.starts.size(), 12u);
  ASSERT_EQ(a.ends.size(), 12u);
  EXPECT_EQ(a.starts.front(), "2021-09-01");
  EXPECT_EQ(a.ends.front(), "2021-10-01");
  EXPECT_EQ(a.starts[4], "2022-01-01");
  EXPECT_EQ(a.ends.back(), "2022-09-01");
}

TEST(PeriodAxis, HalfMonthsAndDekads) {
  const auto h = PeriodAxis::fromConfig(section("half_month", 2022, 1));
  ASSERT_EQ(h.starts.size(), 24u);
  EXPECT_EQ(h.starts[0], "2022-01-01");
  EXPECT_EQ(h.ends[0], "2022-01-16");
  EXPECT_EQ(h.starts[1], "2022-01-16");
  EXPECT_EQ(h.ends[1], "2022-02-01");
  EXPECT_EQ(h.starts[3], "2022-02-16");
  EXPECT_EQ(h.ends.back(), "2023-01-01");

  const auto d = PeriodAxis::fromConfig(section("dekad", 2022, 12));
  ASSERT_EQ(d.starts.size(), 36u);
  EXPECT_EQ(d.starts[0], "2022-12-01");
  EXPECT_EQ(d.starts[1], "2022-12-11");
  EXPECT_EQ(d.starts[2], "2022-12-21");
  EXPECT_EQ(d.ends[2], "2023-01-01");
  EXPECT_EQ(d.starts[5], "2023-01-21");
  EXPECT_EQ(d.ends.back(), "2023-12-01");
}

TEST(PeriodAxis, EveryDayInExactlyOnePeriod) {
  for (const char* period : {"month", "half_month", "dekad"}) {
    const auto a = PeriodAxis::fromConfig(section(period, 2024, 3));  // March 2024 to February 2025
    for (size_t i = 0; i + 1 < a.starts.size(); ++i) EXPECT_EQ(a.ends[i], a.starts[i + 1]) << period << " " << i;
    EXPECT_EQ(a.periodOf("2024-02-29"), -1) << period;  // before the axis
    EXPECT_EQ(a.periodOf("2024-03-01"), 0) << period;
    EXPECT_EQ(a.periodOf("2025-02-28"), static_cast<int>(a.starts.size()) - 1) << period;
    EXPECT_EQ(a.periodOf("2025-03-01"), -1) << period;  // the end is exclusive
  }
  const auto h = PeriodAxis::fromConfig(section("half_month", 2024, 1));
  EXPECT_EQ(h.periodOf("2024-02-15"), 2);
  EXPECT_EQ(h.periodOf("2024-02-16"), 3);
  EXPECT_EQ(h.periodOf("2024-02-29"), 3);
  EXPECT_EQ(h.periodOf("2024-03-01"), 4);
}

TEST(PeriodAxis, CustomEdges) {
  auto c = section("custom", 2022, 1);
  c.edges = {"2022-03-01", "2022-04-15", "2022-07-01"};
  const auto a = PeriodAxis::fromConfig(c);
  ASSERT_EQ(a.starts.size(), 2u);
  EXPECT_EQ(a.starts[1], "2022-04-15");
  EXPECT_EQ(a.ends[1], "2022-07-01");
}
