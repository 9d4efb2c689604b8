#include "cv_table.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <map>
#include <sstream>

#include "kernels/metrics.hpp"
#include "pipeline/json.hpp"
#include "pipeline/mpi.hpp"

namespace cropmap::cv {

namespace {

std::string fmt(const char* f, double v) {
  char b[64];
  std::snprintf(b, sizeof b, f, v);
  return b;
}

// "0.8512 ± 0.0123 [± 0.0305]"
std::string spreadText(const FoldSpread& s) {
  if (s.n == 0) return "-";
  std::string out = fmt("%.4f", s.mean);
  if (s.n >= 2) out += " ± " + fmt("%.4f", s.sd) + " [± " + fmt("%.4f", s.ci95) + "]";
  return out;
}

// Pads to `width` characters as a terminal shows them (UTF-8: "±" is one).
std::string pad(const std::string& text, size_t width) {
  size_t shown = 0;
  for (unsigned char c : text) shown += (c & 0xC0) != 0x80;
  return text + std::string(width > shown ? width - shown : 0, ' ');
}

std::string spreadJson(const FoldSpread& s, const std::vector<double>& values) {
  return json::Object()
      .field("mean", s.mean)
      .field("sd", s.sd)
      .field("ci95", s.ci95)
      .field("folds", s.n)
      .raw("per_fold", json::list(values))
      .text();
}

struct Column {
  const char* key;
  const char* title;
  double (*get)(const Table&, const FoldScore&);
};
const Column kColumns[] = {
    {"overall_accuracy", "OA", [](const Table&, const FoldScore& s) { return s.oa; }},
    {"kappa", "kappa", [](const Table&, const FoldScore& s) { return s.kappa; }},
    {"macro_f1", "macro-F1", [](const Table& t, const FoldScore& s) { return scorableMacroF1(t, s); }},
    {"parcel_overall_accuracy", "parcel OA", [](const Table&, const FoldScore& s) { return s.parcelOa; }},
};

std::vector<double> perFold(const Table& t, const Entry& e, const Column& c) {
  std::vector<double> v;
  for (const auto& f : e.folds) {
    const double x = c.get(t, f);
    if (x >= 0) v.push_back(x);
  }
  return v;
}

const Entry* baselineEntry(const Table& t) {
  for (const auto& e : t.entries)
    if (e.model == t.baseline && e.selected) return &e;
  return nullptr;
}

// Per class: folds where it could not be scored, and why.
std::vector<std::string> unscorable(const Table& t) {
  std::vector<std::string> out;
  if (t.entries.empty()) return out;
  const Entry& e = t.entries.front();
  for (size_t c = 0; c < t.classNames.size(); ++c) {
    std::string why;
    for (const auto& f : e.folds) {
      if (scorable(t, f.fold, static_cast<int>(c), f)) continue;
      const bool trained = static_cast<size_t>(f.fold) < t.trainRows.size() && t.trainRows[f.fold][c] > 0;
      const bool held = c < f.support.size() && f.support[c] > 0;
      if (!trained && !held) continue;  // absent from the fold altogether: nothing to score, nothing missed
      why += (why.empty() ? "" : "; ") + std::string("fold ") + std::to_string(f.fold) +
             (trained ? ": no held-out rows" : ": no training rows (" + std::to_string(held ? f.support[c] : 0) +
                                                   " held-out rows it cannot predict)");
    }
    if (!why.empty()) out.push_back(t.classNames[c] + ": " + why);
  }
  return out;
}

}  // namespace

FoldScore readReport(const std::string& path, int classes) {
  if (!std::filesystem::exists(path)) throw UsageError(path + ": no evaluation report; run `cropmap evaluate` for it");
  const json::Value r = json::parseFile(path);
  FoldScore s;
  s.fold = static_cast<int>(r.numberOr("fold", -1));
  const json::Value& px = r.at("pixel");
  s.oa = px.at("overall_accuracy").number();
  s.kappa = px.at("kappa").number();
  s.macroF1 = px.at("macro").at("f1").number();
  const auto& per = px.at("per_class").array();
  if (static_cast<int>(per.size()) != classes)
    throw UsageError(path + ": /pixel/per_class has " + std::to_string(per.size()) + " classes, the sample table " +
                     std::to_string(classes));
  for (const auto& c : per) {
    s.classF1.push_back(c.at("f1").number());
    s.support.push_back(static_cast<std::int64_t>(c.at("support").number()));
  }
  if (const json::Value* parcel = r.find("parcel")) s.parcelOa = parcel->at("overall_accuracy").number();
  return s;
}

bool scorable(const Table& t, int fold, int cls, const FoldScore& s) {
  const auto c = static_cast<size_t>(cls);
  const bool held = c < s.support.size() && s.support[c] > 0;
  if (fold < 0) return held;
  const bool trained = static_cast<size_t>(fold) < t.trainRows.size() && t.trainRows[fold][c] > 0;
  return held && trained;
}

double scorableMacroF1(const Table& t, const FoldScore& s) {
  double sum = 0;
  int n = 0;
  for (size_t c = 0; c < s.classF1.size(); ++c)
    if (scorable(t, s.fold, static_cast<int>(c), s)) {
      sum += s.classF1[c];
      ++n;
    }
  return n ? sum / n : 0.0;
}

double selectionScore(const Table& t, const Entry& e) {
  for (const auto& c : kColumns)
    if (t.selectBy == c.key) return foldSpread(perFold(t, e, c)).mean;
  return foldSpread(perFold(t, e, kColumns[2])).mean;
}

void selectPerModel(Table& t) {
  std::map<std::string, size_t> best;
  for (size_t i = 0; i < t.entries.size(); ++i) {
    auto& e = t.entries[i];
    e.selected = false;
    auto it = best.find(e.model);
    if (it == best.end() || selectionScore(t, e) > selectionScore(t, t.entries[it->second])) best[e.model] = i;
  }
  for (const auto& [model, i] : best) t.entries[i].selected = true;
}

std::string toText(const Table& t) {
  std::ostringstream os;
  os << "cropmap cv: " << t.folds << "-fold spatial cross-validation on " << t.samples << "\n"
     << "  folds are groups of training and validation zones; each model is trained without a fold (and its "
        "buffer) and scored on it;\n  the test zones stay untouched for the final models. Scores: mean ± sd "
        "[± 95 % interval] over the folds.\n\n";
  char b[512];
  size_t w = 8;
  for (const auto& e : t.entries) w = std::max(w, e.label.size() + (e.model == t.baseline ? 11 : 0));
  os << "  " << pad("model", w) << " " << pad("OA", 33) << " " << pad("kappa", 33) << " "
     << pad("macro-F1 (scorable classes)", 33) << " parcel OA\n";
  for (const auto& e : t.entries) {
    os << "  " << pad(e.label + (e.model == t.baseline && e.selected ? " (baseline)" : ""), w);
    for (int i = 0; i < 4; ++i) os << " " << pad(spreadText(foldSpread(perFold(t, e, kColumns[i]))), i < 3 ? 33 : 0);
    os << "\n";
  }
  if (const Entry* base = baselineEntry(t)) {
    os << "\n  difference to the baseline " << base->label
       << " over the same folds (mean ± sd of the per-fold differences; 'beyond spread': larger than the\n"
          "  fold-to-fold sd of either model, otherwise the folds do not tell the two apart):\n";
    for (const auto& e : t.entries) {
      if (&e == base) continue;
      std::string line = "    " + e.label + ":";
      for (int i : {0, 2}) {
        const auto p = pairedDifference(perFold(t, e, kColumns[i]), perFold(t, *base, kColumns[i]));
        line += std::string("  ") + kColumns[i].title + " " + fmt("%+.4f", p.diff.mean) + " ± " +
                fmt("%.4f", p.diff.sd) + (p.beyondSpread ? " (beyond spread " : " (within spread ") +
                fmt("%.4f", p.spread) + ")";
      }
      os << line << "\n";
    }
  }
  bool grid = false;
  for (const auto& e : t.entries) grid = grid || !e.params.empty();
  if (grid) {
    os << "\n  grid (selected by the fold mean of " << t.selectBy << "):\n";
    for (const auto& e : t.entries)
      if (!e.params.empty())
        os << "    " << (e.selected ? "* " : "  ") << e.label << " (" << e.params << "): " << t.selectBy << " "
           << fmt("%.4f", selectionScore(t, e)) << "\n";
  }
  bool anyTest = false;
  for (const auto& e : t.entries) anyTest = anyTest || e.hasTest;
  if (anyTest) {
    os << "\n  final models (trained on every fold's zones, scored on the untouched test zones):\n";
    for (const auto& e : t.entries)
      if (e.hasTest) {
        std::snprintf(b, sizeof b, "    %-*s OA %.4f  kappa %.4f  macro-F1 %.4f%s\n", static_cast<int>(w),
                      e.label.c_str(), e.test.oa, e.test.kappa, scorableMacroF1(t, e.test),
                      e.test.parcelOa >= 0 ? ("  parcel OA " + fmt("%.4f", e.test.parcelOa)).c_str() : "");
        os << b;
      }
  }
  os << "\n  per-class F1 (mean ± sd over the folds where the class is scorable):\n";
  size_t cw = 12;
  for (const auto& n : t.classNames) cw = std::max(cw, n.size());
  std::snprintf(b, sizeof b, "    %-*s", static_cast<int>(cw), "class");
  os << b;
  for (const auto& e : t.entries)
    if (e.selected) {
      os << " " << pad(e.label, 24);
    }
  os << "\n";
  for (size_t c = 0; c < t.classNames.size(); ++c) {
    std::snprintf(b, sizeof b, "    %-*s", static_cast<int>(cw), t.classNames[c].c_str());
    os << b;
    for (const auto& e : t.entries) {
      if (!e.selected) continue;
      std::vector<double> v;
      for (const auto& f : e.folds)
        if (scorable(t, f.fold, static_cast<int>(c), f)) v.push_back(f.classF1[c]);
      const auto s = foldSpread(v);
      const std::string cell = s.n == 0 ? "not scorable"
                                        : fmt("%.3f", s.mean) + (s.n >= 2 ? " ± " + fmt("%.3f", s.sd) : "") + " (" +
                                              std::to_string(s.n) + "/" + std::to_string(e.folds.size()) + ")";
      os << " " << pad(cell, 24);
    }
    os << "\n";
  }
  const auto missing = unscorable(t);
  if (!missing.empty()) {
    os << "\n  classes not scorable in some folds (too few parcels to be in a fold's training and held-out zones;\n"
          "  merge them into their legend group with labels.merge_classes, drop them with labels.drop_classes,\n"
          "  or give the split more zones):\n";
    std::string names;
    for (const auto& m : missing) {
      os << "    " << m << "\n";
      names += (names.empty() ? "" : ", ") + m.substr(0, m.find(':'));
    }
    os << "    e.g. labels:\n           merge_classes: [" << names << "]\n";
  }
  return os.str();
}

std::string toJson(const Table& t) {
  json::Object root;
  root.field("folds", t.folds).field("samples", t.samples).field("baseline", t.baseline).field("select_by", t.selectBy);
  root.raw("classes", json::list(t.classNames));
  std::string rows = "[";
  for (size_t f = 0; f < t.trainRows.size(); ++f) rows += (f ? ", " : "") + json::list(t.trainRows[f]);
  root.raw("train_rows_per_fold", rows + "]");
  const Entry* base = baselineEntry(t);
  std::string entries = "[";
  for (size_t i = 0; i < t.entries.size(); ++i) {
    const auto& e = t.entries[i];
    json::Object o;
    o.field("label", e.label).field("model", e.model).field("params", e.params).field("selected", e.selected);
    for (const auto& c : kColumns) {
      const auto v = perFold(t, e, c);
      o.raw(c.key, spreadJson(foldSpread(v), v));
    }
    std::string perClass = "[";
    for (size_t c = 0; c < t.classNames.size(); ++c) {
      std::vector<double> v;
      for (const auto& f : e.folds)
        if (scorable(t, f.fold, static_cast<int>(c), f)) v.push_back(f.classF1[c]);
      perClass += (c ? ", " : "") + json::Object()
                                        .field("class", t.classNames[c])
                                        .raw("f1", spreadJson(foldSpread(v), v))
                                        .field("scorable_folds", static_cast<int>(v.size()))
                                        .text();
    }
    o.raw("per_class_f1", perClass + "]");
    if (base && &e != base) {
      std::string d = "{";
      for (int k : {0, 2}) {
        const auto p = pairedDifference(perFold(t, e, kColumns[k]), perFold(t, *base, kColumns[k]));
        d += std::string(d.size() > 1 ? ", " : "") + json::str(kColumns[k].key) + ": " +
             json::Object()
                 .field("mean", p.diff.mean)
                 .field("sd", p.diff.sd)
                 .field("ci95", p.diff.ci95)
                 .field("spread", p.spread)
                 .field("beyond_spread", p.beyondSpread)
                 .text();
      }
      o.raw("vs_baseline", d + "}");
    }
    if (e.hasTest)
      o.raw("test", json::Object()
                        .field("overall_accuracy", e.test.oa)
                        .field("kappa", e.test.kappa)
                        .field("macro_f1", scorableMacroF1(t, e.test))
                        .field("parcel_overall_accuracy", e.test.parcelOa)
                        .text());
    entries += (i ? ", " : "") + o.text();
  }
  root.raw("models", entries + "]");
  root.raw("not_scorable", json::list(unscorable(t)));
  return root.text() + "\n";
}

}  // namespace cropmap::cv
