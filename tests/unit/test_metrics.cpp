// Metrics on confusion matrices small enough to check by hand.
#include <gtest/gtest.h>

#include <cmath>

#include "kernels/metrics.hpp"

using cropmap::ConfusionMatrix;
using cropmap::foldSpread;
using cropmap::pairedDifference;
using cropmap::studentT975;
using cropmap::scoreConfusion;

namespace {

ConfusionMatrix fromRows(const std::vector<std::vector<int>>& rows) {
  ConfusionMatrix cm(static_cast<int>(rows.size()));
  for (size_t i = 0; i < rows.size(); ++i)
    for (size_t j = 0; j < rows[i].size(); ++j) cm.add(static_cast<int>(i), static_cast<int>(j), rows[i][j]);
  return cm;
}

}  // namespace

TEST(Metrics, TwoClassesByHand) {
  // truth 0: 5 right, 1 called 1; truth 1: 2 called 0, 2 right.
  auto r = scoreConfusion(fromRows({{5, 1}, {2, 2}}));
  EXPECT_EQ(r.samples, 10);
  EXPECT_DOUBLE_EQ(r.overallAccuracy, 0.7);
  EXPECT_DOUBLE_EQ(r.perClass[0].precision, 5.0 / 7.0);
  EXPECT_DOUBLE_EQ(r.perClass[0].recall, 5.0 / 6.0);
  EXPECT_NEAR(r.perClass[0].f1, 10.0 / 13.0, 1e-15);
  EXPECT_DOUBLE_EQ(r.perClass[1].precision, 2.0 / 3.0);
  EXPECT_DOUBLE_EQ(r.perClass[1].recall, 0.5);
  EXPECT_NEAR(r.perClass[1].f1, 4.0 / 7.0, 1e-15);
  EXPECT_EQ(r.perClass[0].support, 6);
  EXPECT_EQ(r.perClass[1].predicted, 3);
  EXPECT_NEAR(r.balancedAccuracy, 2.0 / 3.0, 1e-15);
  // p_o = 0.7, p_e = (6*7 + 4*3) / 100 = 0.54
  EXPECT_NEAR(r.kappa, 0.16 / 0.46, 1e-15);
  EXPECT_NEAR(r.macro.f1, (10.0 / 13.0 + 4.0 / 7.0) / 2, 1e-15);
  EXPECT_NEAR(r.weighted.f1, 0.6 * 10.0 / 13.0 + 0.4 * 4.0 / 7.0, 1e-15);
  EXPECT_NEAR(r.weighted.recall, r.overallAccuracy, 1e-15);  // support-weighted recall is OA
}

TEST(Metrics, ClassAbsentFromReferenceAndPredictionsIsLeftOutOfMacro) {
  auto r = scoreConfusion(fromRows({{3, 0, 0}, {0, 0, 0}, {1, 0, 2}}));
  EXPECT_NEAR(r.overallAccuracy, 5.0 / 6.0, 1e-15);
  EXPECT_NEAR(r.perClass[0].f1, 6.0 / 7.0, 1e-15);
  EXPECT_NEAR(r.perClass[2].f1, 0.8, 1e-15);
  EXPECT_NEAR(r.macro.f1, (6.0 / 7.0 + 0.8) / 2, 1e-15);
  EXPECT_NEAR(r.macro.precision, (0.75 + 1.0) / 2, 1e-15);
  EXPECT_NEAR(r.balancedAccuracy, (1.0 + 2.0 / 3.0) / 2, 1e-15);
  EXPECT_NEAR(r.kappa, 2.0 / 3.0, 1e-15);  // p_e = (3*4 + 3*2) / 36 = 0.5
}

TEST(Metrics, ClassOnlyPredictedCountsAgainstMacro) {
  auto r = scoreConfusion(fromRows({{2, 1}, {0, 0}}));
  EXPECT_DOUBLE_EQ(r.perClass[1].precision, 0.0);
  EXPECT_DOUBLE_EQ(r.perClass[1].f1, 0.0);
  EXPECT_DOUBLE_EQ(r.macro.precision, 0.5);
  EXPECT_NEAR(r.balancedAccuracy, 2.0 / 3.0, 1e-15);
}

TEST(Metrics, PerfectAndDegenerateKappa) {
  auto perfect = scoreConfusion(fromRows({{4, 0, 0}, {0, 3, 0}, {0, 0, 1}}));
  EXPECT_DOUBLE_EQ(perfect.overallAccuracy, 1.0);
  EXPECT_DOUBLE_EQ(perfect.kappa, 1.0);
  EXPECT_DOUBLE_EQ(perfect.macro.f1, 1.0);
  // One class everywhere: agreement is all chance.
  auto single = scoreConfusion(fromRows({{5, 0}, {0, 0}}));
  EXPECT_DOUBLE_EQ(single.overallAccuracy, 1.0);
  EXPECT_DOUBLE_EQ(single.kappa, 0.0);
  // Majority-class guessing earns no kappa.
  auto majority = scoreConfusion(fromRows({{8, 0}, {2, 0}}));
  EXPECT_DOUBLE_EQ(majority.overallAccuracy, 0.8);
  EXPECT_NEAR(majority.kappa, 0.0, 1e-15);
  EXPECT_DOUBLE_EQ(majority.balancedAccuracy, 0.5);
  auto empty = scoreConfusion(ConfusionMatrix(3));
  EXPECT_EQ(empty.samples, 0);
  EXPECT_DOUBLE_EQ(empty.overallAccuracy, 0.0);
}

TEST(Metrics, ParcelMajorityVote) {
  // parcel 1: reference 0, predictions 0,1,0 -> 0; parcel 2: reference 1, a 1:1 tie -> class 0;
  // parcel 0 is "no parcel" and is skipped.
  auto cm = cropmap::parcelMajority({1, 1, 1, 2, 2, 0}, {0, 0, 0, 1, 1, 1}, {0, 1, 0, 1, 0, 0}, 2);
  EXPECT_EQ(cm.total(), 2);
  EXPECT_EQ(cm.at(0, 0), 1);
  EXPECT_EQ(cm.at(1, 0), 1);
  EXPECT_EQ(cm.at(1, 1), 0);
}

TEST(Metrics, MergeAndMeanStd) {
  ConfusionMatrix a = fromRows({{1, 2}, {3, 4}}), b = fromRows({{1, 0}, {0, 1}});
  a.merge(b);
  EXPECT_EQ(a.at(0, 0), 2);
  EXPECT_EQ(a.at(1, 1), 5);
  EXPECT_EQ(a.total(), 12);
  auto m = cropmap::meanStd({2, 4, 4, 4, 5, 5, 7, 9});
  EXPECT_DOUBLE_EQ(m.mean, 5.0);
  EXPECT_DOUBLE_EQ(m.std, 2.0);
  EXPECT_EQ(m.n, 8);
}

TEST(Metrics, FoldSpreadUsesSampleSdAndStudentT) {
  // Three folds 0.80, 0.85, 0.90: mean 0.85, sample sd 0.05, t(0.975, 2) = 4.303.
  const auto f = foldSpread({0.80, 0.85, 0.90});
  EXPECT_EQ(f.n, 3);
  EXPECT_NEAR(f.mean, 0.85, 1e-12);
  EXPECT_NEAR(f.sd, 0.05, 1e-12);
  EXPECT_NEAR(f.ci95, 4.303 * 0.05 / std::sqrt(3.0), 1e-9);
  EXPECT_EQ(foldSpread({0.7}).sd, 0.0);  // one fold: no spread to speak of
  EXPECT_EQ(foldSpread({}).n, 0);
  EXPECT_NEAR(studentT975(1), 12.706, 1e-9);
  EXPECT_NEAR(studentT975(30), 2.042, 1e-9);
  EXPECT_NEAR(studentT975(60), 2.000, 0.002);
  EXPECT_NEAR(studentT975(100000), 1.960, 0.001);
}

TEST(Metrics, PairedDifferenceAgainstTheFoldSpread) {
  // A model 2 points above the baseline on every fold, folds spread by 5 points:
  // the difference is consistent but inside the fold-to-fold spread.
  const std::vector<double> base{0.70, 0.75, 0.80}, model{0.72, 0.77, 0.82};
  auto p = pairedDifference(model, base);
  EXPECT_NEAR(p.diff.mean, 0.02, 1e-12);
  EXPECT_NEAR(p.diff.sd, 0.0, 1e-12);
  EXPECT_NEAR(p.spread, 0.05, 1e-12);
  EXPECT_FALSE(p.beyondSpread);
  // 10 points better on folds that agree within 1 point: beyond the spread.
  p = pairedDifference({0.90, 0.91, 0.92}, {0.80, 0.81, 0.82});
  EXPECT_NEAR(p.diff.mean, 0.10, 1e-12);
  EXPECT_TRUE(p.beyondSpread);
  // Worse counts the same way (the sign says which way).
  EXPECT_TRUE(pairedDifference({0.80, 0.81, 0.82}, {0.90, 0.91, 0.92}).beyondSpread);
}
