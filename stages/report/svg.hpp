// Plots of the HTML report as inline SVG, drawn here rather than by a
// plotting library: the page must render offline in any browser, the plots
// are few and simple (lines over an index, a matrix heatmap), and a C++
// writer keeps the report free of a Python or JavaScript runtime. Every
// function returns one self-contained <svg> element with a width, height and
// viewBox, text in the page's font, and a <title> per mark for hover values.
#pragma once

#include <string>
#include <vector>

namespace cropmap::svg {

struct Series {
  std::string name;
  std::vector<double> y;  // one value per x position; NaN = no point
  std::string colour;     // CSS colour
};

struct LineChart {
  std::string title, xLabel, yLabel;
  std::vector<std::string> xTicks;  // one label per x position
  std::vector<Series> series;
  double yMin = 0, yMax = 0;  // yMin == yMax: from the data
  int width = 520, height = 300;
};

std::string lineChart(const LineChart& chart);

// Counts as a heatmap, rows = reference, columns = predicted; cells coloured
// by the row share (what fraction of the reference class went where), the
// count printed in each cell.
std::string confusionHeatmap(const std::vector<std::string>& classes,
                             const std::vector<std::vector<double>>& counts);

// A legend swatch row: a filled square.
std::string swatch(const std::string& colour, int size = 14);

// Escapes text for XML and HTML.
std::string escape(const std::string& text);

// A distinct colour for series i.
std::string seriesColour(size_t i);

}  // namespace cropmap::svg
