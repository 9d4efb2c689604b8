// Classification metrics for crop-type maps, derived from a confusion matrix.
//
// Everything `cropmap evaluate` and the per-epoch training log report is
// computed here from counts, so the arithmetic is tested once on hand-made
// matrices: overall and balanced accuracy, Cohen's kappa, per-class precision
// (user's accuracy), recall (producer's accuracy) and F1, their macro and
// support-weighted averages, and the parcel-level majority vote. Rows of the
// matrix are reference classes, columns predicted classes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace cropmap {

class ConfusionMatrix {
 public:
  explicit ConfusionMatrix(int classes = 0);

  int classes() const { return k_; }
  // Counts one sample; both ids must be in [0, classes).
  void add(int truth, int predicted, std::int64_t n = 1);
  void merge(const ConfusionMatrix& other);
  std::int64_t at(int truth, int predicted) const { return counts_[static_cast<std::size_t>(truth) * static_cast<std::size_t>(k_) + static_cast<std::size_t>(predicted)]; }
  std::int64_t total() const;
  std::int64_t support(int truth) const;        // row sum
  std::int64_t predictedCount(int cls) const;   // column sum

  // Row-major K*K counts (for MPI reductions and JSON).
  std::vector<std::int64_t>& counts() { return counts_; }
  const std::vector<std::int64_t>& counts() const { return counts_; }

 private:
  int k_;
  std::vector<std::int64_t> counts_;
};

struct ClassScores {
  double precision = 0, recall = 0, f1 = 0;
  std::int64_t support = 0;    // reference samples of the class
  std::int64_t predicted = 0;  // samples predicted as the class
};

struct Averages {
  double precision = 0, recall = 0, f1 = 0;
};

struct ClassificationReport {
  std::int64_t samples = 0;
  double overallAccuracy = 0;
  double balancedAccuracy = 0;  // mean recall over classes present in the reference
  double kappa = 0;             // Cohen's kappa; 0 when chance agreement is total
  std::vector<ClassScores> perClass;
  // Macro: unweighted mean over classes that occur in the reference or the
  // predictions (a class absent from both says nothing). Weighted: by support.
  Averages macro, weighted;
};

// Undefined ratios (0/0: a class never predicted, or absent) count as 0, the
// convention of scikit-learn's zero_division=0, so that a model is never
// rewarded for avoiding a class.
ClassificationReport scoreConfusion(const ConfusionMatrix& cm);

// Majority label per parcel: for each distinct parcel id (0 = no parcel,
// skipped) the reference class (majority of the reference labels) against the
// majority of the predictions; ties go to the smaller class id. Returns the
// parcel-level confusion matrix.
ConfusionMatrix parcelMajority(const std::vector<std::int64_t>& parcel, const std::vector<int>& truth,
                               const std::vector<int>& predicted, int classes);

struct MeanStd {
  double mean = 0, std = 0;  // population standard deviation
  std::int64_t n = 0;
};
MeanStd meanStd(const std::vector<double>& values);

// A score over cross-validation folds: the mean, the sample standard
// deviation (n - 1; 0 for one fold) and the half-width of the 95 % confidence
// interval of the mean, t(0.975, n - 1) * sd / sqrt(n), with Student's t for
// few folds (e.g. 4.30 for 3 folds).
struct FoldSpread {
  double mean = 0, sd = 0, ci95 = 0;
  int n = 0;
};
FoldSpread foldSpread(const std::vector<double>& values);
// The 0.975 quantile of Student's t with `df` degrees of freedom (df >= 1).
double studentT975(int df);

// A model against the baseline on the same folds: the spread of the per-fold
// differences a[i] - b[i], and whether the mean difference is larger than the
// fold-to-fold spread (the larger standard deviation of the two models over
// the folds): a difference inside it is not evidence that either is better.
struct PairedDifference {
  FoldSpread diff;
  double spread = 0;
  bool beyondSpread = false;
};
PairedDifference pairedDifference(const std::vector<double>& a, const std::vector<double>& b);

}  // namespace cropmap
