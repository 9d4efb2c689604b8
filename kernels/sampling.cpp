#include "sampling.hpp"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <stdexcept>

namespace cropmap::kernels {

namespace {
std::uint64_t splitmix(std::uint64_t x) {
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}
}  // namespace

std::uint64_t mixHash(std::uint64_t seed, std::uint64_t a, std::uint64_t b, std::uint64_t c) {
  std::uint64_t h = splitmix(seed);
  h = splitmix(h ^ a);
  h = splitmix(h ^ b);
  return splitmix(h ^ c);
}

double percentile(std::vector<double> values, double p) {
  assert(p >= 0 && p <= 100);
  if (values.empty()) return 0.0;
  std::sort(values.begin(), values.end());
  const double pos = p / 100.0 * static_cast<double>(values.size() - 1);
  const size_t lo = static_cast<size_t>(std::floor(pos));
  const size_t hi = std::min(lo + 1, values.size() - 1);
  const double frac = pos - static_cast<double>(lo);
  return values[lo] + (values[hi] - values[lo]) * frac;
}

std::int64_t StratifiedPlan::total() const {
  std::int64_t s = 0;
  for (auto t : target) s += t;
  return s;
}

StratifiedPlan stratifiedCounts(const std::vector<std::int64_t>& available, std::int64_t budget,
                                std::int64_t minPerClass, double damping, double percentileP) {
  assert(damping >= 0 && damping <= 1 && budget >= 0 && minPerClass >= 0);
  const size_t k = available.size();
  StratifiedPlan plan;
  plan.target.assign(k, 0);
  plan.prior.assign(k, 0.0);
  plan.rare.assign(k, 0);
  std::int64_t sum = 0;
  for (auto n : available) sum += std::max<std::int64_t>(n, 0);
  if (sum == 0) return plan;
  std::vector<double> present;
  for (size_t c = 0; c < k; ++c) {
    plan.prior[c] = static_cast<double>(std::max<std::int64_t>(available[c], 0)) / static_cast<double>(sum);
    if (available[c] > 0) present.push_back(plan.prior[c]);
  }
  const double q = percentile(present, percentileP);
  plan.threshold = q;
  std::vector<double> w(k, 0.0);
  double wsum = 0.0;
  for (size_t c = 0; c < k; ++c) {
    if (available[c] <= 0) continue;
    const double pi = plan.prior[c];
    if (pi > q) {
      w[c] = q * std::pow(pi / q, damping);
    } else {
      w[c] = pi;
      plan.rare[c] = 1;
    }
    wsum += w[c];
  }
  for (size_t c = 0; c < k; ++c) {
    if (available[c] <= 0) continue;
    if (budget == 0) {
      plan.target[c] = available[c];
      continue;
    }
    const auto share = static_cast<std::int64_t>(std::floor(static_cast<double>(budget) * w[c] / wsum));
    plan.target[c] = std::min(available[c], std::max(minPerClass, share));
  }
  return plan;
}

std::vector<double> maxOverCountWeights(const std::vector<std::int64_t>& counts) {
  std::int64_t mx = 0;
  for (auto n : counts) mx = std::max(mx, n);
  std::vector<double> w(counts.size(), 0.0);
  for (size_t c = 0; c < counts.size(); ++c)
    if (counts[c] > 0) w[c] = static_cast<double>(mx) / static_cast<double>(counts[c]);
  return w;
}

std::vector<double> inverseFrequencyWeights(const std::vector<std::int64_t>& counts) {
  std::int64_t sum = 0, present = 0;
  for (auto n : counts)
    if (n > 0) {
      sum += n;
      ++present;
    }
  std::vector<double> w(counts.size(), 0.0);
  for (size_t c = 0; c < counts.size(); ++c)
    if (counts[c] > 0) w[c] = static_cast<double>(sum) / (static_cast<double>(present) * static_cast<double>(counts[c]));
  return w;
}

WeightRule parseWeightRule(const std::string& name) {
  if (name == "max_over_count") return WeightRule::MaxOverCount;
  if (name == "sqrt") return WeightRule::Sqrt;
  if (name == "inverse_frequency") return WeightRule::InverseFrequency;
  throw std::invalid_argument("unknown class weight rule '" + name + "'; expected max_over_count|sqrt|inverse_frequency");
}

ClassWeights classWeights(const std::vector<std::int64_t>& counts, WeightRule rule, double cap) {
  assert(cap >= 0);
  ClassWeights w;
  w.uncapped = rule == WeightRule::InverseFrequency ? inverseFrequencyWeights(counts) : maxOverCountWeights(counts);
  if (rule == WeightRule::Sqrt)
    for (auto& v : w.uncapped) v = std::sqrt(v);
  w.weight = w.uncapped;
  w.capped.assign(counts.size(), 0);
  if (cap > 0)
    for (size_t c = 0; c < counts.size(); ++c)
      if (w.weight[c] > cap) {
        w.weight[c] = cap;
        w.capped[c] = 1;
      }
  return w;
}

}  // namespace cropmap::kernels
