#include "metrics.hpp"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <numeric>
#include <unordered_map>

namespace cropmap {

ConfusionMatrix::ConfusionMatrix(int classes)
    : k_(classes), counts_(static_cast<size_t>(classes) * static_cast<size_t>(classes), 0) {
  assert(classes >= 0);
}

void ConfusionMatrix::add(int truth, int predicted, std::int64_t n) {
  assert(truth >= 0 && truth < k_ && predicted >= 0 && predicted < k_);
  counts_[static_cast<size_t>(truth) * k_ + predicted] += n;
}

void ConfusionMatrix::merge(const ConfusionMatrix& other) {
  assert(other.k_ == k_);
  for (size_t i = 0; i < counts_.size(); ++i) counts_[i] += other.counts_[i];
}

std::int64_t ConfusionMatrix::total() const { return std::accumulate(counts_.begin(), counts_.end(), std::int64_t{0}); }

std::int64_t ConfusionMatrix::support(int truth) const {
  std::int64_t s = 0;
  for (int j = 0; j < k_; ++j) s += at(truth, j);
  return s;
}

std::int64_t ConfusionMatrix::predictedCount(int cls) const {
  std::int64_t s = 0;
  for (int i = 0; i < k_; ++i) s += at(i, cls);
  return s;
}

static double ratio(double num, double den) { return den > 0 ? num / den : 0.0; }

ClassificationReport scoreConfusion(const ConfusionMatrix& cm) {
  ClassificationReport r;
  const int k = cm.classes();
  const double n = static_cast<double>(cm.total());
  r.samples = cm.total();
  r.perClass.resize(static_cast<size_t>(k));
  double diag = 0, chance = 0;
  int present = 0, listed = 0;
  double recallSum = 0;
  for (int c = 0; c < k; ++c) {
    ClassScores& s = r.perClass[static_cast<size_t>(c)];
    const double tp = static_cast<double>(cm.at(c, c));
    s.support = cm.support(c);
    s.predicted = cm.predictedCount(c);
    s.precision = ratio(tp, static_cast<double>(s.predicted));
    s.recall = ratio(tp, static_cast<double>(s.support));
    s.f1 = ratio(2 * s.precision * s.recall, s.precision + s.recall);
    diag += tp;
    chance += static_cast<double>(s.support) * static_cast<double>(s.predicted);
    if (s.support > 0) {
      ++present;
      recallSum += s.recall;
    }
    if (s.support > 0 || s.predicted > 0) {
      ++listed;
      r.macro.precision += s.precision;
      r.macro.recall += s.recall;
      r.macro.f1 += s.f1;
    }
    if (n > 0) {
      const double w = static_cast<double>(s.support) / n;
      r.weighted.precision += w * s.precision;
      r.weighted.recall += w * s.recall;
      r.weighted.f1 += w * s.f1;
    }
  }
  if (listed > 0) {
    r.macro.precision /= listed;
    r.macro.recall /= listed;
    r.macro.f1 /= listed;
  }
  r.overallAccuracy = ratio(diag, n);
  r.balancedAccuracy = present > 0 ? recallSum / present : 0.0;
  if (n > 0) {
    const double po = diag / n;
    const double pe = chance / (n * n);
    r.kappa = pe < 1.0 ? (po - pe) / (1.0 - pe) : 0.0;
  }
  return r;
}

ConfusionMatrix parcelMajority(const std::vector<std::int64_t>& parcel, const std::vector<int>& truth,
                               const std::vector<int>& predicted, int classes) {
  assert(parcel.size() == truth.size() && truth.size() == predicted.size());
  // Votes per parcel: K reference counts followed by K prediction counts.
  std::unordered_map<std::int64_t, std::vector<std::int64_t>> votes;
  std::vector<std::int64_t> order;  // first-seen order keeps the result deterministic
  for (size_t i = 0; i < parcel.size(); ++i) {
    if (parcel[i] == 0) continue;
    auto [it, inserted] = votes.try_emplace(parcel[i], std::vector<std::int64_t>(2 * static_cast<size_t>(classes), 0));
    if (inserted) order.push_back(parcel[i]);
    it->second[static_cast<size_t>(truth[i])] += 1;
    it->second[static_cast<size_t>(classes + predicted[i])] += 1;
  }
  ConfusionMatrix cm(classes);
  for (std::int64_t id : order) {
    const auto& v = votes[id];
    auto argmax = [&](size_t from) {
      return static_cast<int>(std::max_element(v.begin() + static_cast<std::ptrdiff_t>(from),
                                               v.begin() + static_cast<std::ptrdiff_t>(from + classes)) -
                              (v.begin() + static_cast<std::ptrdiff_t>(from)));
    };
    cm.add(argmax(0), argmax(static_cast<size_t>(classes)));
  }
  return cm;
}

MeanStd meanStd(const std::vector<double>& values) {
  MeanStd m;
  m.n = static_cast<std::int64_t>(values.size());
  if (values.empty()) return m;
  double s = 0;
  for (double v : values) s += v;
  m.mean = s / static_cast<double>(values.size());
  double q = 0;
  for (double v : values) q += (v - m.mean) * (v - m.mean);
  m.std = std::sqrt(q / static_cast<double>(values.size()));
  return m;
}

double studentT975(int df) {
  static const double table[] = {12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228,
                                 2.201,  2.179, 2.160, 2.145, 2.131, 2.120, 2.110, 2.101, 2.093, 2.086,
                                 2.080,  2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048, 2.045, 2.042};
  if (df < 1) return 0;
  if (df <= 30) return table[df - 1];
  return 1.959964 + 2.372 / df;  // within 0.002 of the exact quantile above 30 degrees of freedom
}

FoldSpread foldSpread(const std::vector<double>& values) {
  FoldSpread f;
  f.n = static_cast<int>(values.size());
  if (values.empty()) return f;
  const MeanStd m = meanStd(values);
  f.mean = m.mean;
  if (f.n < 2) return f;
  f.sd = m.std * std::sqrt(static_cast<double>(f.n) / (f.n - 1));
  f.ci95 = studentT975(f.n - 1) * f.sd / std::sqrt(static_cast<double>(f.n));
  return f;
}

PairedDifference pairedDifference(const std::vector<double>& a, const std::vector<double>& b) {
  PairedDifference p;
  const size_t n = std::min(a.size(), b.size());
  std::vector<double> d(n);
  for (size_t i = 0; i < n; ++i) d[i] = a[i] - b[i];
  p.diff = foldSpread(d);
  p.spread = std::max(foldSpread(a).sd, foldSpread(b).sd);
  p.beyondSpread = n >= 2 && std::fabs(p.diff.mean) > p.spread;
  return p;
}

}  // namespace cropmap
