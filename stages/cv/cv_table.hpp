// The table of `cropmap cv`: every cross-validated model (and configuration
// of the grid) over the same spatial folds, the baseline difference, per-class
// F1, and the classes that cannot be scored. Built from the report.json files
// that `cropmap evaluate --fold K` writes, so it is testable without training.
//
// Reading the table:
//  - a score is "mean ± sd [± half-width of the 95 % interval]" over the folds
//    (sample sd; Student's t for the interval, see kernels/metrics.hpp);
//  - macro-F1 is the mean F1 over the classes scorable in the fold: present in
//    the fold's held-out rows and in its training rows. A class the fold
//    could not learn (no training rows) or not test (no held-out rows) is
//    listed, never averaged in as 0;
//  - "vs baseline" is the mean per-fold difference to the baseline model, with
//    "beyond spread" when it exceeds the larger fold-to-fold sd of the two.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace cropmap::cv {

struct FoldScore {
  int fold = -1;  // -1: the final model on the test zones
  double oa = 0, kappa = 0, macroF1 = 0;
  double parcelOa = -1;  // -1: no parcel ids in the sample table
  std::vector<double> classF1;
  std::vector<std::int64_t> support;  // held-out rows per class
};

// Scores of one report.json written by `cropmap evaluate`; throws
// UsageError naming the file when it is missing or not such a report.
FoldScore readReport(const std::string& path, int classes);

struct Entry {
  std::string label;  // directory below cv.output: the model name, with its grid point when there is a grid
  std::string model;
  std::string params;  // "lr 0.001, kernel 5" (empty without a grid)
  std::vector<FoldScore> folds;
  bool hasTest = false;
  FoldScore test;
  bool selected = false;  // the configuration of its model that the grid picked (or the only one)
};

struct Table {
  int folds = 0;
  std::string samples;
  std::string baseline;  // model name, or empty
  std::string selectBy = "macro_f1";
  std::vector<std::string> classNames;
  std::vector<std::vector<std::int64_t>> trainRows;  // [fold][class] rows each fold trained on
  std::vector<Entry> entries;
};

// Per fold, the classes with held-out and training rows.
bool scorable(const Table& t, int fold, int cls, const FoldScore& s);
// Mean F1 over the fold's scorable classes.
double scorableMacroF1(const Table& t, const FoldScore& s);
// The fold-mean score the grid selects by (select_by) for an entry.
double selectionScore(const Table& t, const Entry& e);
// Marks, per model, the entry with the best selection score.
void selectPerModel(Table& t);

std::string toText(const Table& t);
std::string toJson(const Table& t);

}  // namespace cropmap::cv
