// Kernels of the composite stage: hand-computed cases for masking, medians
// (odd and even counts), gap filling (interior, leading, trailing, runs of
// several periods, all missing) and indices, plus a brute-force reference for
// the lane-wise median on random data.
#include <gtest/gtest.h>

#include <algorithm>
#include <random>

#include "kernels/gap_fill.hpp"
#include "kernels/median.hpp"
#include "kernels/spectral.hpp"

using namespace cropmap;

namespace {

// Reference median: sort a copy, mean of the middle pair rounded half up.
std::uint16_t referenceMedian(std::vector<std::uint16_t> v) {
  std::sort(v.begin(), v.end());
  const size_t n = v.size();
  if (n % 2) return v[n / 2];
  return static_cast<std::uint16_t>((static_cast<unsigned>(v[n / 2 - 1]) + v[n / 2] + 1) / 2);
}

}  // namespace

TEST(SortingNetwork, SortsEveryZeroOnePatternUpTo16) {
  // The 0-1 principle: a network sorting every 0/1 input sorts every input.
  for (int n : {2, 4, 8, 16}) {
    auto net = sortingNetwork(n);
    for (unsigned bits = 0; bits < (1u << n); ++bits) {
      std::vector<int> v(static_cast<size_t>(n));
      for (int i = 0; i < n; ++i) v[static_cast<size_t>(i)] = (bits >> i) & 1;
      for (auto [a, b] : net)
        if (v[static_cast<size_t>(a)] > v[static_cast<size_t>(b)]) std::swap(v[static_cast<size_t>(a)], v[static_cast<size_t>(b)]);
      ASSERT_TRUE(std::is_sorted(v.begin(), v.end())) << "n=" << n << " bits=" << bits;
    }
  }
  EXPECT_EQ(sortingNetwork(16).size(), 63u);  // Batcher's count for 16 inputs
  EXPECT_EQ(sortingNetwork(8).size(), 19u);
}

TEST(Median, HandComputedOddAndEven) {
  std::vector<std::uint16_t> a{5};
  EXPECT_EQ(medianOf(a.data(), 1), 5);
  std::vector<std::uint16_t> b{10, 3};
  EXPECT_EQ(medianOf(b.data(), 2), 7);  // (3 + 10) / 2 = 6.5, rounded half up
  std::vector<std::uint16_t> c{9, 1, 5};
  EXPECT_EQ(medianOf(c.data(), 3), 5);
  std::vector<std::uint16_t> d{4, 1, 3, 2};
  EXPECT_EQ(medianOf(d.data(), 4), 3);  // (2 + 3) / 2 = 2.5 -> 3
  std::vector<std::uint16_t> e{100, 200, 300, 400, 500, 600, 700, 800, 900, 1000, 1100};
  EXPECT_EQ(medianOf(e.data(), 11), 600);
  std::vector<std::uint16_t> f{65534, 65534, 0, 0};
  EXPECT_EQ(medianOf(f.data(), 4), 32767);
}

TEST(Median, MatchesReferenceForEveryCount) {
  std::mt19937 rng(7);
  std::uniform_int_distribution<int> val(0, 65534);
  for (int n = 1; n <= 40; ++n)
    for (int trial = 0; trial < 50; ++trial) {
      std::vector<std::uint16_t> v(static_cast<size_t>(n));
      for (auto& x : v) x = static_cast<std::uint16_t>(val(rng));
      auto copy = v;
      ASSERT_EQ(medianOf(copy.data(), n), referenceMedian(v)) << "n=" << n;
    }
}

TEST(PeriodMedian, MaskedObservationsNeverLeak) {
  // 3 scenes, 2 bands, 4 pixels. Scene 1 is cloudy on pixels 0 and 1 with a
  // bright value that would move the median if it leaked.
  const int S = 3, B = 2;
  const size_t N = 4;
  std::vector<std::uint16_t> obs = {
      // scene 0: band 0, band 1
      100, 200, 300, 400, /**/ 10, 20, 30, 40,
      // scene 1
      9000, 9000, 310, 410, /**/ 9000, 9000, 31, 41,
      // scene 2
      120, 220, 320, 420, /**/ 12, 22, 32, 42};
  std::vector<std::uint8_t> keep = {1, 1, 1, 0, /**/ 0, 0, 1, 0, /**/ 1, 1, 1, 0};
  std::vector<std::uint16_t> out(B * N);
  std::vector<std::uint8_t> count(N);
  MedianScratch scratch;
  periodMedian({obs.data(), keep.data(), S, B, N}, {out.data(), count.data(), kReflectanceFill}, scratch);
  EXPECT_EQ(count, (std::vector<std::uint8_t>{2, 2, 3, 0}));
  // pixel 0: {100, 120} -> 110; pixel 1: {200, 220} -> 210; pixel 2: {300,310,320} -> 310; pixel 3: none
  EXPECT_EQ(out, (std::vector<std::uint16_t>{110, 210, 310, kReflectanceFill, 11, 21, 31, kReflectanceFill}));
  // Without masking the cloud dominates pixels 0 and 1.
  std::vector<std::uint8_t> all(keep.size(), 1);
  periodMedian({obs.data(), all.data(), S, B, N}, {out.data(), count.data(), kReflectanceFill}, scratch);
  EXPECT_EQ(out[0], 120);
  EXPECT_EQ(out[4], 12);
}

TEST(PeriodMedian, MatchesBruteForceOnRandomBlocks) {
  std::mt19937 rng(11);
  for (int S : {1, 2, 3, 5, 8, 9, 15, 16, 17, 31}) {
    const int B = 3;
    const size_t N = 700;  // not a multiple of the lane count
    std::vector<std::uint16_t> obs(static_cast<size_t>(S * B) * N);
    std::vector<std::uint8_t> keep(static_cast<size_t>(S) * N);
    std::uniform_int_distribution<int> val(0, 65534);
    for (auto& x : obs) x = static_cast<std::uint16_t>(val(rng) % 5000);  // many ties
    for (auto& k : keep) k = (rng() % 3) != 0;
    std::vector<std::uint16_t> out(B * N);
    std::vector<std::uint8_t> count(N);
    MedianScratch scratch;
    periodMedian({obs.data(), keep.data(), S, B, N}, {out.data(), count.data(), kReflectanceFill}, scratch);
    for (size_t p = 0; p < N; ++p) {
      int c = 0;
      for (int s = 0; s < S; ++s) c += keep[static_cast<size_t>(s) * N + p];
      ASSERT_EQ(count[p], c);
      for (int b = 0; b < B; ++b) {
        std::vector<std::uint16_t> v;
        for (int s = 0; s < S; ++s)
          if (keep[static_cast<size_t>(s) * N + p]) v.push_back(obs[(static_cast<size_t>(s) * B + b) * N + p]);
        const std::uint16_t expect = v.empty() ? kReflectanceFill : referenceMedian(v);
        ASSERT_EQ(out[static_cast<size_t>(b) * N + p], expect) << "S=" << S << " p=" << p << " b=" << b;
      }
    }
  }
}

namespace {
std::vector<std::uint16_t> fillOne(std::vector<std::uint16_t> v, std::vector<std::uint8_t> avail, GapMode mode) {
  fillSeries(v.data(), 1, avail.data(), static_cast<int>(v.size()), mode);
  return v;
}
}  // namespace

TEST(GapFill, InteriorLeadingTrailingAndRuns) {
  const std::uint16_t X = 0;  // placeholder in missing periods
  // interior single gap: mean of neighbours
  EXPECT_EQ(fillOne({100, X, 200}, {1, 0, 1}, GapMode::linear), (std::vector<std::uint16_t>{100, 150, 200}));
  // interior run of three: linear 100 -> 500 in steps of 100
  EXPECT_EQ(fillOne({100, X, X, X, 500}, {1, 0, 0, 0, 1}, GapMode::linear),
            (std::vector<std::uint16_t>{100, 200, 300, 400, 500}));
  // same run with neighbour_mean: every missing period gets (100 + 500) / 2
  EXPECT_EQ(fillOne({100, X, X, X, 500}, {1, 0, 0, 0, 1}, GapMode::neighbourMean),
            (std::vector<std::uint16_t>{100, 300, 300, 300, 500}));
  // run of two with rounding: 100 + 101/3 = 133.67 -> 134, 100 + 2*101/3 = 167.33 -> 167
  EXPECT_EQ(fillOne({100, X, X, 201}, {1, 0, 0, 1}, GapMode::linear), (std::vector<std::uint16_t>{100, 134, 167, 201}));
  // leading gap takes the next value, trailing the previous
  EXPECT_EQ(fillOne({X, X, 300, X, 500, X, X}, {0, 0, 1, 0, 1, 0, 0}, GapMode::linear),
            (std::vector<std::uint16_t>{300, 300, 300, 400, 500, 500, 500}));
  // decreasing values
  EXPECT_EQ(fillOne({900, X, X, 0}, {1, 0, 0, 1}, GapMode::linear), (std::vector<std::uint16_t>{900, 600, 300, 0}));
  // nothing available: untouched, reported
  std::vector<std::uint16_t> none{7, 7};
  std::vector<std::uint8_t> no{0, 0};
  EXPECT_FALSE(fillSeries(none.data(), 1, no.data(), 2, GapMode::linear));
}

TEST(GapFill, BlockLayoutAndAllMissingCount) {
  // 4 periods, 2 bands, 3 pixels. pixel 0 full, pixel 1 gaps at periods 0 and 2, pixel 2 never seen.
  const int P = 4, B = 2;
  const size_t N = 3;
  const std::uint16_t F = kReflectanceFill;
  std::vector<std::uint16_t> s = {
      // p0: b0 px0..2, b1 px0..2
      1, F, F, 10, F, F,
      // p1
      2, 40, F, 20, 400, F,
      // p2
      3, F, F, 30, F, F,
      // p3
      4, 80, F, 40, 800, F};
  std::vector<std::uint8_t> count = {1, 0, 0, /**/ 2, 1, 0, /**/ 1, 0, 0, /**/ 3, 4, 0};
  EXPECT_EQ(fillGaps(s.data(), count.data(), P, B, N, GapMode::linear, F), 1);
  std::vector<std::uint16_t> expect = {1, 40, F, 10, 400, F, 2, 40, F, 20, 400, F,
                                       3, 60, F, 30, 600, F, 4, 80, F, 40, 800, F};
  EXPECT_EQ(s, expect);
}

TEST(Spectral, MaskAndReflectanceWithBaselineOffsets) {
  const std::uint8_t scl[] = {0, 1, 3, 4, 5, 6, 7, 8, 9, 10, 11};
  std::uint8_t keep[11];
  sclMask(scl, 11, SclKeep::of({4, 5, 6, 7}), keep);
  EXPECT_EQ(std::vector<std::uint8_t>(keep, keep + 11), (std::vector<std::uint8_t>{0, 0, 0, 1, 1, 1, 1, 0, 0, 0, 0}));
  const std::uint16_t dn[] = {0, 1500, 1500, 1500, 1500, 1500, 1500, 1500, 1500, 1500, 1500};
  maskNoData(dn, 11, keep);
  EXPECT_EQ(keep[3], 1);
  // Baseline >= 04.00: DN 2234 with offset -1000 is reflectance 0.1234.
  std::uint16_t dnNew[] = {2234, 500, 11000}, out[3];
  toReflectance(dnNew, 3, -1000, 10000, out);
  EXPECT_EQ(out[0], 1234);
  EXPECT_EQ(out[1], 0);  // negative reflectance clamps to 0
  EXPECT_EQ(out[2], 10000);
  // Older baselines: no offset.
  std::uint16_t dnOld[] = {1234}, out2[1];
  toReflectance(dnOld, 1, 0, 10000, out2);
  EXPECT_EQ(out2[0], 1234);
  // A quantification other than 10000 rescales.
  std::uint16_t dnQ[] = {2000}, out3[1];
  toReflectance(dnQ, 1, -1000, 20000, out3);
  EXPECT_EQ(out3[0], 500);
  auto sum = summariseScl(scl, 11, SclKeep::of({4, 5, 6, 7}));
  EXPECT_EQ(sum.data, 10);
  EXPECT_EQ(sum.clear, 4);
  EXPECT_DOUBLE_EQ(sum.clearFraction(), 0.4);
}

TEST(Spectral, NormalizedDifferenceScaledLikeBands) {
  const std::uint16_t nir[] = {4000, 1000, 0, kReflectanceFill, 3000};
  const std::uint16_t red[] = {1000, 4000, 0, 1000, 3000};
  std::uint16_t out[5];
  normalizedDifference(nir, red, 5, out);
  EXPECT_EQ(out[0], 16000);  // (0.6 + 1) * 10000
  EXPECT_EQ(out[1], 4000);   // (-0.6 + 1) * 10000
  EXPECT_EQ(out[2], 10000);  // 0/0 -> 0
  EXPECT_EQ(out[3], kReflectanceFill);
  EXPECT_EQ(out[4], 10000);
}

TEST(Spectral, UpsampleTwentyToTenMetres) {
  // A 20 m source window of 3x3 starting at source (1, 2); the 10 m target window starts at (2, 4).
  const std::uint8_t src[] = {1, 2, 3, 4, 5, 6, 7, 8, 9};
  const SourceWindow<std::uint8_t> win{src, 1, 2, 3, 3};
  std::uint8_t dst[6 * 6];
  upsample(win, 0.5, 2, 4, 6, 6, Resampling::nearest, dst);
  for (int r = 0; r < 6; ++r)
    for (int c = 0; c < 6; ++c) EXPECT_EQ(dst[r * 6 + c], src[(r / 2) * 3 + c / 2]) << r << "," << c;
  // An odd start: target row 3 samples source row 1 (floor(3.5 * 0.5)).
  std::uint8_t one[1];
  upsample(win, 0.5, 3, 5, 1, 1, Resampling::nearest, one);
  EXPECT_EQ(one[0], 1);
  // A clipped product: target rows past the coarse extent repeat its last row and column.
  std::uint8_t edge[2 * 2];
  upsample(win, 0.5, 7, 9, 2, 2, Resampling::nearest, edge);
  EXPECT_EQ(edge[0], 9);
  EXPECT_EQ(edge[3], 9);
}

TEST(Spectral, UpsampleBilinearWeightsAndNoData) {
  // Source columns 0..1 of one row pair: values rise by 100 per 20 m pixel to the right.
  const std::uint16_t src[] = {1000, 1100, 1000, 1100};
  const SourceWindow<std::uint16_t> win{src, 0, 0, 2, 2};
  std::uint16_t dst[4 * 4];
  upsample(win, 0.5, 0, 0, 4, 4, Resampling::bilinear, dst);
  // Target centres at source x = -0.25, 0.25, 0.75, 1.25 (pixel-centre based): clamped edges, 1/4 and 3/4 between.
  EXPECT_EQ(dst[0], 1000);
  EXPECT_EQ(dst[1], 1025);
  EXPECT_EQ(dst[2], 1075);
  EXPECT_EQ(dst[3], 1100);
  EXPECT_EQ(dst[13], 1025);
  // No data (0) never pulls a value down: it is left out of the weights.
  const std::uint16_t holes[] = {0, 1100, 0, 1100};
  upsample(SourceWindow<std::uint16_t>{holes, 0, 0, 2, 2}, 0.5, 0, 0, 4, 4, Resampling::bilinear, dst);
  EXPECT_EQ(dst[0], 0);
  EXPECT_EQ(dst[1], 1100);
  EXPECT_EQ(dst[3], 1100);
  // The span a target window needs: one more source pixel on each side for bilinear.
  EXPECT_EQ(sourceSpan(2, 6, 0.5, Resampling::nearest), (std::array<int, 2>{1, 3}));
  EXPECT_EQ(sourceSpan(2, 6, 0.5, Resampling::bilinear), (std::array<int, 2>{0, 4}));
}
