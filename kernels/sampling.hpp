// Stratified sampling arithmetic for `cropmap sample`.
//
// Crop registers are heavily imbalanced: grassland and winter wheat hold most
// pixels of a country while caraway or soybean hold a fraction of a percent.
// Sampling proportionally starves the rare classes; sampling uniformly throws
// away most of the information on the frequent ones. Following the stratified
// scheme with class priors of Weikmann et al. (TimeSen2Crop, 2021), classes
// are split at a percentile of their priors into frequent and rare ones and
// the per-class sample counts are derived from the priors and two constants:
//
//   n_c       units (pixels or parcels) of class c available in the split
//   pi_c      = n_c / sum_k n_k                            prior of class c
//   q         = P-th percentile (default 65) of { pi_c : n_c > 0 }, linear
//               interpolation between order statistics
//   w_c       = q * (pi_c / q)^gamma   if pi_c > q          (frequent: damped)
//             = pi_c                   otherwise            (rare)
//   t_c       = min(n_c, max(m, floor(N * w_c / sum_k w_k)))
//
// with N the budget (sample.train_size), m the guaranteed minimum per class
// (sample.min_per_class) and gamma in [0, 1] the imbalance damping
// (sample.damping): gamma = 1 keeps the priors, gamma = 0 gives every frequent
// class the share of the percentile class. The sum of t_c is close to N but not
// forced to it: the minimum adds units and the cap n_c removes them. A budget of
// 0 takes every available unit. Validation and test splits use gamma = 1 and
// m = 0, so that they keep the class distribution of the region and the
// reported accuracies stay honest.
//
// Which units are taken is decided by a hash of (seed, tile, pixel) or
// (seed, parcel): a class takes its t_c units with the smallest hashes, which
// makes the selection independent of the number of ranks and of the order in
// which blocks are processed.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace cropmap::kernels {

// 64-bit mix of a seed and up to three keys (splitmix64 finaliser chained).
std::uint64_t mixHash(std::uint64_t seed, std::uint64_t a, std::uint64_t b = 0, std::uint64_t c = 0);

// P-th percentile (0..100) of values, linear interpolation between the sorted
// values (the definition numpy uses by default). Empty input gives 0.
double percentile(std::vector<double> values, double p);

struct StratifiedPlan {
  std::vector<std::int64_t> target;  // t_c per class
  std::vector<double> prior;         // pi_c
  std::vector<std::uint8_t> rare;    // 1 when pi_c <= q (and n_c > 0)
  double threshold = 0.0;            // q
  std::int64_t total() const;
};

// The formula above. `available` holds n_c for classes 0..K-1.
StratifiedPlan stratifiedCounts(const std::vector<std::int64_t>& available, std::int64_t budget,
                                std::int64_t minPerClass, double damping, double percentileP = 65.0);

// Class weights stored with the samples: n_max / n_c, and the inverse
// frequency sum_k n_k / (K' * n_c) with K' the classes present (so that the
// weights average to 1 over the samples). Classes without samples get 0.
std::vector<double> maxOverCountWeights(const std::vector<std::int64_t>& counts);
std::vector<double> inverseFrequencyWeights(const std::vector<std::int64_t>& counts);

// The class weights training applies (train.class_weights, train.weight_cap).
// With n_c the training rows of class c and n_max the largest:
//   max_over_count     w_c = n_max / n_c           (the seed's rule)
//   sqrt               w_c = sqrt(n_max / n_c)     (the same order, compressed)
//   inverse_frequency  w_c = sum_k n_k / (K' n_c)  (averages to 1 over the rows)
// then w_c = min(w_c, cap) unless cap is 0. A class with a handful of rows
// would otherwise dominate the loss (n_max / 1 = 2374 on a real register).
// Classes without rows get 0.
enum class WeightRule { MaxOverCount, Sqrt, InverseFrequency };
// "max_over_count" | "sqrt" | "inverse_frequency"; throws std::invalid_argument
// listing the names otherwise.
WeightRule parseWeightRule(const std::string& name);

struct ClassWeights {
  std::vector<double> weight;       // per class, capped
  std::vector<double> uncapped;     // per class, before the cap
  std::vector<std::uint8_t> capped; // 1 where the cap applied
};
ClassWeights classWeights(const std::vector<std::int64_t>& counts, WeightRule rule, double cap);

}  // namespace cropmap::kernels
