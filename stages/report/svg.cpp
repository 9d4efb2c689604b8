#include "svg.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <sstream>

#include "pipeline/markup.hpp"

namespace cropmap::svg {

namespace {

std::string fmt(double v, int decimals = 1) {
  char b[32];
  std::snprintf(b, sizeof b, "%.*f", decimals, v);
  return b;
}

// A "nice" tick step (1, 2 or 5 x 10^k) giving about `target` intervals.
double niceStep(double range, int target) {
  if (!(range > 0)) return 1;
  const double raw = range / target;
  const double mag = std::pow(10.0, std::floor(std::log10(raw)));
  const double f = raw / mag;
  return (f < 1.5 ? 1 : f < 3 ? 2 : f < 7 ? 5 : 10) * mag;
}

int decimalsFor(double step) { return step >= 1 ? 0 : static_cast<int>(std::ceil(-std::log10(step) - 1e-9)); }

}  // namespace

std::string escape(const std::string& text) { return xmlEscape(text); }

std::string seriesColour(size_t i) {
  static const char* kColours[] = {"#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#17becf",
                                   "#7f7f7f"};
  return kColours[i % std::size(kColours)];
}

std::string swatch(const std::string& colour, int size) {
  std::ostringstream s;
  s << "<svg class=\"swatch\" width=\"" << size << "\" height=\"" << size << "\" viewBox=\"0 0 " << size << " "
    << size << "\"><rect width=\"" << size << "\" height=\"" << size << "\" fill=\"" << escape(colour)
    << "\" stroke=\"#444\" stroke-width=\"1\"/></svg>";
  return s.str();
}

std::string lineChart(const LineChart& c) {
  const double left = 56, right = 12, top = 28, bottom = 64;
  const double pw = c.width - left - right, ph = c.height - top - bottom;
  double lo = c.yMin, hi = c.yMax;
  if (lo == hi) {
    lo = INFINITY;
    hi = -INFINITY;
    for (const auto& s : c.series)
      for (double v : s.y)
        if (std::isfinite(v)) lo = std::min(lo, v), hi = std::max(hi, v);
    if (!std::isfinite(lo)) lo = 0, hi = 1;
    if (lo == hi) lo -= 0.5, hi += 0.5;
    const double pad = (hi - lo) * 0.05;
    lo -= pad;
    hi += pad;
  }
  const double step = niceStep(hi - lo, 5);
  const int dec = decimalsFor(step);
  size_t n = c.xTicks.size();
  for (const auto& s : c.series) n = std::max(n, s.y.size());
  auto X = [&](size_t i) { return left + (n > 1 ? pw * static_cast<double>(i) / static_cast<double>(n - 1) : pw / 2); };
  auto Y = [&](double v) { return top + ph * (1 - (v - lo) / (hi - lo)); };

  std::ostringstream s;
  s << "<svg class=\"chart\" xmlns=\"http://www.w3.org/2000/svg\" width=\"" << c.width << "\" height=\"" << c.height
    << "\" viewBox=\"0 0 " << c.width << " " << c.height << "\" role=\"img\" aria-label=\"" << escape(c.title)
    << "\">\n";
  s << "<text x=\"" << left << "\" y=\"16\" class=\"t\">" << escape(c.title) << "</text>\n";
  // Grid and y ticks.
  for (double v = std::ceil(lo / step) * step; v <= hi + 1e-12; v += step) {
    if (std::abs(v) < step * 1e-9) v = 0;  // no "-0.0"
    s << "<line x1=\"" << fmt(left) << "\" x2=\"" << fmt(left + pw) << "\" y1=\"" << fmt(Y(v)) << "\" y2=\""
      << fmt(Y(v)) << "\" class=\"grid\"/><text x=\"" << fmt(left - 6) << "\" y=\"" << fmt(Y(v) + 4)
      << "\" text-anchor=\"end\">" << fmt(v, dec) << "</text>\n";
  }
  // x ticks: every k-th label, so that labels (about 6.5 px a character) never overlap.
  size_t longest = 1;
  for (const auto& t : c.xTicks) longest = std::max(longest, t.size());
  const double spacing = n > 1 ? pw / static_cast<double>(n - 1) : pw;
  const size_t every = std::max<size_t>(1, static_cast<size_t>(std::ceil((6.5 * static_cast<double>(longest) + 8) / spacing)));
  for (size_t i = 0; i < c.xTicks.size(); i += every)
    s << "<text x=\"" << fmt(X(i)) << "\" y=\"" << fmt(top + ph + 16) << "\" text-anchor=\"middle\">"
      << escape(c.xTicks[i]) << "</text>\n";
  s << "<rect x=\"" << left << "\" y=\"" << top << "\" width=\"" << fmt(pw) << "\" height=\"" << fmt(ph)
    << "\" class=\"frame\"/>\n";
  s << "<text x=\"" << fmt(left + pw / 2) << "\" y=\"" << fmt(top + ph + 34) << "\" text-anchor=\"middle\">"
    << escape(c.xLabel) << "</text>\n";
  s << "<text transform=\"translate(14," << fmt(top + ph / 2) << ") rotate(-90)\" text-anchor=\"middle\">"
    << escape(c.yLabel) << "</text>\n";
  // Series: a polyline through the finite points, and a dot per point.
  double lx = left;
  for (size_t k = 0; k < c.series.size(); ++k) {
    const auto& ser = c.series[k];
    const std::string colour = ser.colour.empty() ? seriesColour(k) : ser.colour;
    std::string pts;
    for (size_t i = 0; i < ser.y.size(); ++i)
      if (std::isfinite(ser.y[i])) pts += fmt(X(i)) + "," + fmt(Y(ser.y[i])) + " ";
    s << "<polyline fill=\"none\" stroke=\"" << colour << "\" stroke-width=\"2\" points=\"" << pts << "\"/>\n";
    for (size_t i = 0; i < ser.y.size(); ++i)
      if (std::isfinite(ser.y[i]))
        s << "<circle cx=\"" << fmt(X(i)) << "\" cy=\"" << fmt(Y(ser.y[i])) << "\" r=\"2.5\" fill=\"" << colour
          << "\"><title>" << escape(ser.name) << " " << escape(i < c.xTicks.size() ? c.xTicks[i] : std::to_string(i))
          << ": " << fmt(ser.y[i], 4) << "</title></circle>\n";
    // Legend below the axis label.
    s << "<rect x=\"" << fmt(lx) << "\" y=\"" << fmt(c.height - 16.0) << "\" width=\"10\" height=\"10\" fill=\""
      << colour << "\"/><text x=\"" << fmt(lx + 14) << "\" y=\"" << fmt(c.height - 7.0) << "\">" << escape(ser.name)
      << "</text>\n";
    lx += 24 + 7.0 * static_cast<double>(ser.name.size());
  }
  s << "</svg>";
  return s.str();
}

std::string confusionHeatmap(const std::vector<std::string>& classes, const std::vector<std::vector<double>>& counts) {
  const size_t k = classes.size();
  size_t longest = 4;
  for (const auto& c : classes) longest = std::max(longest, c.size());
  const double label = std::min(220.0, 7.0 * static_cast<double>(longest) + 10);
  const double cell = k > 12 ? 30 : 40;
  const double top = label + 24, left = label + 10;
  // Column labels lean right at 60 degrees: room for the last one.
  const double w = left + cell * static_cast<double>(k) + 0.5 * label + 10, h = top + cell * static_cast<double>(k) + 30;
  std::ostringstream s;
  s << "<svg class=\"chart heatmap\" xmlns=\"http://www.w3.org/2000/svg\" width=\"" << fmt(w, 0) << "\" height=\""
    << fmt(h, 0) << "\" viewBox=\"0 0 " << fmt(w, 0) << " " << fmt(h, 0)
    << "\" role=\"img\" aria-label=\"confusion matrix\">\n";
  s << "<text x=\"" << fmt(left) << "\" y=\"14\" class=\"t\">predicted &#8594;</text>\n";
  s << "<text transform=\"translate(12," << fmt(top + cell * static_cast<double>(k) / 2)
    << ") rotate(-90)\" text-anchor=\"middle\" class=\"t\">reference &#8594;</text>\n";
  for (size_t j = 0; j < k; ++j)
    s << "<text transform=\"translate(" << fmt(left + cell * (static_cast<double>(j) + 0.6)) << "," << fmt(top - 6)
      << ") rotate(-60)\">" << escape(classes[j]) << "</text>\n";
  for (size_t i = 0; i < k; ++i) {
    double rowSum = 0;
    for (size_t j = 0; j < k && i < counts.size() && j < counts[i].size(); ++j) rowSum += counts[i][j];
    const double y = top + cell * static_cast<double>(i);
    s << "<text x=\"" << fmt(left - 6) << "\" y=\"" << fmt(y + cell / 2 + 4) << "\" text-anchor=\"end\">"
      << escape(classes[i]) << "</text>\n";
    for (size_t j = 0; j < k; ++j) {
      const double v = i < counts.size() && j < counts[i].size() ? counts[i][j] : 0;
      const double share = rowSum > 0 ? v / rowSum : 0;
      // White to dark blue by row share; the diagonal reads as the recall.
      const int r = static_cast<int>(std::lround(255 - share * (255 - 8)));
      const int g = static_cast<int>(std::lround(255 - share * (255 - 69)));
      const int b = static_cast<int>(std::lround(255 - share * (255 - 148)));
      char colour[8];
      std::snprintf(colour, sizeof colour, "#%02x%02x%02x", r, g, b);
      const double x = left + cell * static_cast<double>(j);
      s << "<rect x=\"" << fmt(x) << "\" y=\"" << fmt(y) << "\" width=\"" << fmt(cell) << "\" height=\"" << fmt(cell)
        << "\" fill=\"" << colour << "\" stroke=\"#fff\"><title>" << escape(classes[i]) << " as "
        << escape(classes[j]) << ": " << fmt(v, 0) << " (" << fmt(100 * share, 1) << "% of the reference)</title></rect>";
      if (v > 0)
        s << "<text x=\"" << fmt(x + cell / 2) << "\" y=\"" << fmt(y + cell / 2 + 4) << "\" text-anchor=\"middle\" fill=\""
          << (share > 0.5 ? "#fff" : "#222") << "\" class=\"n\">" << fmt(v, 0) << "</text>";
      s << "\n";
    }
  }
  s << "</svg>";
  return s.str();
}

}  // namespace cropmap::svg
