#include "sample_fixture.hpp"

#include "pipeline/mpi.hpp"

#include <mpi.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <random>

namespace cropmap::test {

SampleFileInfo writeSyntheticSamples(const std::string& path, const SyntheticSamples& s) {
  std::mt19937_64 rng(s.seed);
  std::normal_distribution<double> gauss(0.0, 1.0);
  std::uniform_real_distribution<double> unit(0.0, 1.0);
  const int K = s.classes, P = s.periods, B = s.bands;
  // Class shares 4:3:2:1:... so the majority class is clear.
  std::vector<double> share(static_cast<size_t>(K));
  for (int c = 0; c < K; ++c) share[static_cast<size_t>(c)] = K - c;
  std::discrete_distribution<int> pickClass(share.begin(), share.end());

  auto profile = [&](int c, int p, int b) {
    // Green-up month differs by class; bands respond with different signs and gains.
    const double peak = 2.0 + (static_cast<double>(c) * (P - 4)) / std::max(1, K - 1);
    const double bell = std::exp(-0.5 * std::pow((p - peak) / 1.6, 2));
    const double gain = (b % 2 == 0 ? 0.3 : -0.15) * (1.0 + 0.2 * b);
    return 0.25 + 0.03 * b + gain * bell;
  };

  SampleFileInfo info;
  info.periods = P;
  info.bands = B;
  for (int c = 0; c < K; ++c) info.classNames.push_back("crop" + std::to_string(c));
  for (int b = 0; b < B; ++b) info.bandNames.push_back("B" + std::to_string(b + 1));
  for (int p = 0; p < P; ++p) {
    char d[16];
    std::snprintf(d, sizeof d, "2022-%02d-01", (p % 12) + 1);
    info.periodStarts.push_back(d);
  }
  info.tiles = {"33UVP"};
  info.level = "pixel";

  std::vector<std::pair<std::string, SampleSplit>> splits;
  std::int64_t nextParcel = 1;
  std::vector<double> values;  // train x, for the band statistics
  for (const auto& [name, n] : {std::pair<std::string, std::int64_t>{"train", s.train}, {"val", s.val}, {"test", s.test}}) {
    SampleSplit t;
    t.n = t.total = n;
    std::vector<double> x(static_cast<size_t>(n * P * B));
    for (std::int64_t i = 0; i < n; i += 4) {
      const int c = pickClass(rng);
      const std::int64_t parcel = nextParcel++;
      const double amp = 0.8 + 0.4 * unit(rng);
      for (std::int64_t j = i; j < std::min(n, i + 4); ++j) {
        t.y.push_back(static_cast<std::int16_t>(c));
        t.parcel.push_back(parcel);
        t.row.push_back(static_cast<std::int32_t>(j));
        t.col.push_back(0);
        t.tile.push_back(0);
        t.zone.push_back(name == "train" ? 0 : name == "val" ? 1 : 2);
        if (s.folds > 0 && name == "test") t.fold.push_back(static_cast<std::int32_t>(parcel % s.folds));
        for (int p = 0; p < P; ++p)
          for (int b = 0; b < B; ++b)
            x[static_cast<size_t>((j * P + p) * B + b)] =
                std::clamp(0.25 + amp * (profile(c, p, b) - 0.25) + s.noise * gauss(rng), 0.0, 1.0);
      }
    }
    if (s.uint16) {
      t.scaleFactor = 1e-4;
      for (double v : x) t.xu.push_back(static_cast<std::uint16_t>(std::lround(v * 10000.0)));
      if (name == "train")
        for (auto u : t.xu) values.push_back(u * 1e-4);
    } else {
      for (double v : x) t.x.push_back(static_cast<float>(v));
      if (name == "train")
        for (float v : t.x) values.push_back(v);
    }
    splits.emplace_back(name, std::move(t));
  }
  // Band statistics and class weights n_max / n_c of the train split.
  info.bandMean.assign(static_cast<size_t>(B), 0.0);
  info.bandStd.assign(static_cast<size_t>(B), 0.0);
  const double rows = static_cast<double>(values.size() / static_cast<size_t>(B));
  for (size_t i = 0; i < values.size(); ++i) info.bandMean[i % static_cast<size_t>(B)] += values[i] / rows;
  for (size_t i = 0; i < values.size(); ++i) {
    const double d = values[i] - info.bandMean[i % static_cast<size_t>(B)];
    info.bandStd[i % static_cast<size_t>(B)] += d * d / rows;
  }
  for (auto& v : info.bandStd) v = std::sqrt(v);
  std::vector<double> counts(static_cast<size_t>(K), 0.0);
  for (auto y : splits[0].second.y) counts[static_cast<size_t>(y)] += 1;
  const double nmax = *std::max_element(counts.begin(), counts.end());
  for (double c : counts) info.classWeights.push_back(c > 0 ? nmax / c : 0.0);
  for (double c : counts) info.trainCounts.push_back(static_cast<std::int64_t>(c));
  if (s.missing > 0) {
    const size_t every = static_cast<size_t>(std::max(1.0, std::round(1.0 / s.missing)));
    for (auto& [name, t] : splits)
      for (size_t i = 0; i < t.x.size(); i += every) t.x[i] = std::numeric_limits<float>::quiet_NaN();
  }
  // One process writes the whole table, with or without MPI.
  int started = 0;
  MPI_Initialized(&started);
  writeSamples(path, started ? Comm(MPI_COMM_SELF) : Comm::serial(), info, splits);
  info.path = path;
  return info;
}

}  // namespace cropmap::test
