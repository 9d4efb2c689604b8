#include "report.hpp"

#include <gdal_priv.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "pipeline/context.hpp"
#include "pipeline/cube.hpp"
#include "pipeline/gdal_io.hpp"
#include "pipeline/json.hpp"
#include "pipeline/log.hpp"
#include "pipeline/mpi.hpp"
#include "pipeline/paths.hpp"
#include "stac.hpp"
#include "stages/predict/map_writer.hpp"
#include "stages/predict/predict.hpp"
#include "svg.hpp"

namespace cropmap::report {

namespace fs = std::filesystem;
using svg::escape;

std::string base64(const std::string& bytes) {
  static const char* kAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 2 < bytes.size(); i += 3) {
    const unsigned v = (static_cast<unsigned char>(bytes[i]) << 16) | (static_cast<unsigned char>(bytes[i + 1]) << 8) |
                       static_cast<unsigned char>(bytes[i + 2]);
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += kAlphabet[(v >> 6) & 63];
    out += kAlphabet[v & 63];
  }
  if (i < bytes.size()) {
    unsigned v = static_cast<unsigned char>(bytes[i]) << 16;
    if (i + 1 < bytes.size()) v |= static_cast<unsigned char>(bytes[i + 1]) << 8;
    out += kAlphabet[(v >> 18) & 63];
    out += kAlphabet[(v >> 12) & 63];
    out += i + 1 < bytes.size() ? kAlphabet[(v >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

namespace {

std::string readBytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot read " + path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string fmt(double v, int decimals = 3) {
  if (!std::isfinite(v)) return "&#8211;";
  char b[32];
  std::snprintf(b, sizeof b, "%.*f", decimals, v);
  return b;
}

const char* kCss = R"(
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif;margin:0;color:#222;background:#fafafa}
header{background:#1d3a2f;color:#fff;padding:14px 28px}header h1{margin:0;font-size:22px}header p{margin:4px 0 0;opacity:.85}
main{padding:8px 28px 40px;max-width:1200px}section{background:#fff;border:1px solid #e2e2e2;border-radius:6px;margin:16px 0;padding:10px 18px}
h2{font-size:18px;margin:8px 0 10px;color:#1d3a2f}table{border-collapse:collapse;font-size:13px;margin:6px 0}
th,td{border-bottom:1px solid #e6e6e6;padding:3px 10px;text-align:right}th:first-child,td:first-child{text-align:left}
th{background:#f1f4f2}.kv td{text-align:left}.maps{display:flex;flex-wrap:wrap;gap:18px}.maps figure{margin:0}
.maps img{image-rendering:pixelated;border:1px solid #bbb;background:repeating-conic-gradient(#eee 0 25%,#fff 0 50%) 0 0/16px 16px}
figcaption{font-size:13px;margin-top:4px}.legend{columns:3;font-size:13px;margin:10px 0}.legend div{display:flex;align-items:center;gap:6px;margin:2px 0}
.charts{display:flex;flex-wrap:wrap;gap:16px}svg.chart text{font-size:11px;fill:#333}svg.chart text.t{font-size:13px;font-weight:600}
svg.chart .grid{stroke:#e4e4e4}svg.chart .frame{fill:none;stroke:#999}svg.heatmap text.n{font-size:10px}
.note{font-size:13px;color:#555}pre{font-size:12px;background:#f6f6f6;padding:8px;overflow:auto;max-height:360px}
)";

struct Page {
  std::string body;
  void section(const std::string& title, const std::string& html) {
    body += "<section><h2>" + escape(title) + "</h2>\n" + html + "\n</section>\n";
  }
};

std::vector<std::string> shortDates(const std::vector<std::string>& isoDates) {
  std::vector<std::string> out;
  for (const auto& d : isoDates) out.push_back(d.size() >= 7 ? d.substr(0, 7) : d);
  return out;
}

// ---- configuration ------------------------------------------------------------

std::string configSection(const Config& cfg, const CubeLayout& layout, const std::vector<TileGrid>& tiles) {
  std::ostringstream s;
  std::string tileNames;
  for (const auto& t : tiles)
    tileNames += (tileNames.empty() ? "" : ", ") + t.name + " (" + std::to_string(t.width) + "&#215;" +
                 std::to_string(t.height) + " px, EPSG:" + std::to_string(t.epsg) + ")";
  std::string bands;
  for (const auto& b : layout.bands) bands += (bands.empty() ? "" : ", ") + b;
  s << "<table class=\"kv\">"
    << "<tr><th>run</th><td>" << escape(cfg.run.name) << "</td></tr>"
    << "<tr><th>output</th><td>" << escape(cfg.run.output) << "</td></tr>"
    << "<tr><th>seed</th><td>" << cfg.run.seed << "</td></tr>"
    << "<tr><th>tiles</th><td>" << tileNames << "</td></tr>"
    << "<tr><th>periods</th><td>" << layout.periods.size() << " (" << escape(layout.periods.front()) << " to "
    << escape(layout.periodEnds.empty() ? layout.periods.back() : layout.periodEnds.back()) << ", "
    << escape(cfg.composite.period) << ")</td></tr>"
    << "<tr><th>bands</th><td>" << escape(bands) << "</td></tr>"
    << "<tr><th>model</th><td>" << escape(cfg.train.model) << ", " << cfg.train.epochs << " epochs, batch "
    << cfg.train.batch_size << ", " << escape(cfg.train.optimizer) << " lr " << cfg.train.lr << "</td></tr>"
    << "<tr><th>legend</th><td>" << escape(cfg.labels.legend) << "</td></tr>"
    << "</table>\n<details><summary>resolved configuration</summary><pre>" << escape(cfg.yaml())
    << "</pre></details>";
  return s.str();
}

// ---- maps ---------------------------------------------------------------------

std::string mapsSection(const Config& cfg, const std::vector<TileGrid>& tiles) {
  const std::string maps = mapping::PredictPaths::fromConfig(cfg).maps();
  std::ostringstream s;
  std::string legend;
  int shown = 0;
  s << "<div class=\"maps\">";
  for (const auto& t : tiles) {
    const std::string png = (fs::path(maps) / (t.name + ".png")).string();
    const std::string tif = (fs::path(maps) / (t.name + ".tif")).string();
    if (!fs::exists(png) || !fs::exists(tif)) continue;
    auto q = gdal::openRaster(png);
    const int w = q->GetRasterXSize(), h = q->GetRasterYSize();
    q.reset();
    const int scale = std::max(1, 320 / std::max(w, h));
    s << "<figure><img alt=\"crop map of tile " << escape(t.name) << "\" width=\"" << w * scale << "\" height=\""
      << h * scale << "\" src=\"data:image/png;base64," << base64(readBytes(png)) << "\"><figcaption>tile "
      << escape(t.name) << ": " << escape(tif) << "</figcaption></figure>";
    ++shown;
    if (legend.empty()) {
      auto ds = gdal::openRaster(tif);
      GDALRasterBand* band = ds->GetRasterBand(1);
      const auto names = mapping::classNamesOf(band);
      const GDALColorTable* ct = band->GetColorTable();
      for (int i = 0; i < static_cast<int>(names.size()); ++i) {
        if (names[static_cast<size_t>(i)].empty()) continue;
        char hex[8] = "#000000";
        if (ct && i < ct->GetColorEntryCount()) {
          const GDALColorEntry* e = ct->GetColorEntry(i);
          std::snprintf(hex, sizeof hex, "#%02x%02x%02x", e->c1, e->c2, e->c3);
        }
        legend += "<div>" + svg::swatch(hex) + "<span>" + std::to_string(i) + " " + escape(names[static_cast<size_t>(i)]) + "</span></div>";
      }
    }
  }
  s << "</div>";
  if (shown == 0) return "";
  s << "<div class=\"legend\">" << legend << "</div>"
    << "<p class=\"note\">Transparent: no data. Each map has a QGIS style (.qml) and a clear-observation layer "
       "(_clear.tif) next to it.</p>";
  return s.str();
}

// ---- accuracy -----------------------------------------------------------------

std::string accuracySection(const json::Value& level, const std::string& what) {
  std::ostringstream s;
  s << "<p>" << escape(what) << ": " << static_cast<long long>(level.numberOr("samples", 0))
    << " samples; overall accuracy <b>" << fmt(level.numberOr("overall_accuracy", NAN))
    << "</b>, balanced accuracy " << fmt(level.numberOr("balanced_accuracy", NAN)) << ", kappa "
    << fmt(level.numberOr("kappa", NAN));
  if (const auto* m = level.find("macro")) s << ", macro F1 " << fmt(m->numberOr("f1", NAN));
  s << "</p>\n";
  if (const auto* per = level.find("per_class")) {
    s << "<table><tr><th>class</th><th>support</th><th>predicted</th><th>precision (user's acc.)</th>"
         "<th>recall (producer's acc.)</th><th>F1</th></tr>\n";
    for (const auto& c : per->array())
      s << "<tr><td>" << escape(c.stringOr("class", "?")) << "</td><td>"
        << static_cast<long long>(c.numberOr("support", 0)) << "</td><td>"
        << static_cast<long long>(c.numberOr("predicted", 0)) << "</td><td>" << fmt(c.numberOr("precision", NAN))
        << "</td><td>" << fmt(c.numberOr("recall", NAN)) << "</td><td>" << fmt(c.numberOr("f1", NAN))
        << "</td></tr>\n";
    s << "</table>\n";
  }
  if (const auto* cm = level.find("confusion")) {
    std::vector<std::string> classes;
    for (const auto& c : cm->at("classes").array()) classes.push_back(c.string());
    std::vector<std::vector<double>> counts;
    for (const auto& row : cm->at("counts").array()) {
      counts.emplace_back();
      for (const auto& v : row.array()) counts.back().push_back(v.number());
    }
    s << "<h3>confusion matrix (" << escape(what) << ")</h3>" << svg::confusionHeatmap(classes, counts)
      << "<p class=\"note\">Colour: share of the reference class (row); the diagonal is the producer's accuracy. "
         "Hover a cell for its count.</p>";
  }
  return s.str();
}

// The table of `cropmap cv` (cv_report.json): every model's fold scores and
// the difference to the baseline, as cropmap cv prints them.
std::string cvSection(const Config& cfg) {
  const fs::path path = fs::path(cfg.run.output) / cfg.cv.output / "cv_report.json";
  if (!fs::exists(path)) return "";
  const json::Value r = json::parseFile(path.string());
  const char* keys[] = {"overall_accuracy", "kappa", "macro_f1", "parcel_overall_accuracy"};
  std::ostringstream s;
  s << "<table><tr><th>model</th><th>OA</th><th>kappa</th><th>macro F1 (scorable)</th><th>parcel OA</th>"
       "<th>vs baseline (OA)</th><th>test OA (final)</th></tr>";
  for (const auto& m : r.at("models").array()) {
    const bool base = m.stringOr("model", "") == r.stringOr("baseline", "") && m.at("selected").boolean();
    s << "<tr><td>" << escape(m.stringOr("label", "")) << (base ? " (baseline)" : "")
      << (m.at("selected").boolean() ? "" : " <span class=\"note\">(grid, not selected)</span>") << "</td>";
    for (const char* k : keys) {
      const json::Value& v = m.at(k);
      const int n = static_cast<int>(v.numberOr("folds", 0));
      s << "<td>" << (n == 0 ? std::string("-")
                              : fmt(v.numberOr("mean", NAN), 4) +
                                    (n > 1 ? " &#177; " + fmt(v.numberOr("sd", NAN), 4) + " [&#177; " +
                                                 fmt(v.numberOr("ci95", NAN), 4) + "]"
                                           : std::string()))
        << "</td>";
    }
    std::string vs;
    if (const json::Value* d = m.find("vs_baseline"))
      vs = (d->at("overall_accuracy").numberOr("mean", NAN) >= 0 ? "+" : "") +
           fmt(d->at("overall_accuracy").numberOr("mean", NAN), 4) +
           (d->at("overall_accuracy").at("beyond_spread").boolean() ? " (beyond spread)" : " (within spread)");
    std::string test;
    if (const json::Value* t = m.find("test")) test = fmt(t->numberOr("overall_accuracy", NAN), 4);
    s << "<td>" << vs << "</td><td>" << test << "</td></tr>";
  }
  s << "</table><p class=\"note\">" << static_cast<int>(r.numberOr("folds", 0))
    << "-fold spatial cross-validation (mean &#177; sd [&#177; 95 % interval] over the folds); the full table with "
       "per-class F1 and the classes that cannot be scored is "
    << escape((fs::path(cfg.run.output) / cfg.cv.output / "cv_report.txt").string()) << ".</p>";
  return s.str();
}

// ---- learning curves ------------------------------------------------------------

std::string learningSection(const std::string& metricsPath) {
  std::ifstream in(metricsPath);
  if (!in) return "";
  std::vector<std::string> epochs;
  svg::Series trainLoss{"train loss", {}, ""}, valLoss{"validation loss", {}, ""};
  svg::Series valOa{"validation OA", {}, ""}, valF1{"validation macro F1", {}, ""}, trainOa{"train OA", {}, ""};
  std::string line;
  int lineNo = 0;
  while (std::getline(in, line)) {
    ++lineNo;
    if (line.empty()) continue;
    const json::Value v = json::parse(line, metricsPath + ":" + std::to_string(lineNo));
    std::string label = std::to_string(static_cast<long long>(v.numberOr("epoch", lineNo)));
    if (v.stringOr("phase", "main") != "main") label += "ft";
    epochs.push_back(label);
    trainLoss.y.push_back(v.numberOr("train_loss", NAN));
    valLoss.y.push_back(v.numberOr("val_loss", NAN));
    trainOa.y.push_back(v.numberOr("train_oa", NAN));
    valOa.y.push_back(v.numberOr("val_oa", NAN));
    valF1.y.push_back(v.numberOr("val_macro_f1", NAN));
  }
  if (epochs.empty()) return "";
  svg::LineChart loss{"loss per epoch", "epoch", "loss", epochs, {trainLoss, valLoss}};
  svg::LineChart acc{"accuracy per epoch", "epoch", "score", epochs, {trainOa, valOa, valF1}};
  return "<div class=\"charts\">" + svg::lineChart(loss) + svg::lineChart(acc) +
         "</div><p class=\"note\">From " + escape(metricsPath) + " (one line per epoch; \"ft\" = fine-tuning).</p>";
}

// ---- clear observations -----------------------------------------------------------

std::string clearSection(const Config& cfg, const std::vector<TileGrid>& tiles, const CubeLayout& layout) {
  const std::string maps = mapping::PredictPaths::fromConfig(cfg).maps();
  svg::LineChart chart{"mean clear observations per pixel", "period", "clear observations", shortDates(layout.periods),
                       {}};
  std::ostringstream table;
  table << "<table><tr><th>tile</th>";
  for (const auto& p : shortDates(layout.periods)) table << "<th>" << escape(p) << "</th>";
  table << "<th>year</th></tr>";
  for (const auto& t : tiles) {
    const std::string clear = mapping::clearPath(maps, t.name);
    if (!fs::exists(clear)) continue;
    auto ds = gdal::openRaster(clear);
    const char* item = ds->GetRasterBand(1)->GetMetadataItem("CLEAR_MEAN_PER_PERIOD");
    if (!item) continue;
    std::map<std::string, double> byPeriod;
    std::stringstream ss(item);
    std::string part;
    while (std::getline(ss, part, ';')) {
      const auto eq = part.find('=');
      if (eq != std::string::npos) byPeriod[part.substr(0, eq)] = std::strtod(part.c_str() + eq + 1, nullptr);
    }
    svg::Series series{t.name, {}, ""};
    double total = 0;
    table << "<tr><td>" << escape(t.name) << "</td>";
    for (const auto& p : layout.periods) {
      const auto it = byPeriod.find(p);
      const double v = it == byPeriod.end() ? NAN : it->second;
      series.y.push_back(v);
      if (std::isfinite(v)) total += v;
      table << "<td>" << fmt(v, 2) << "</td>";
    }
    table << "<td>" << fmt(total, 1) << "</td></tr>";
    chart.series.push_back(series);
  }
  table << "</table>";
  if (chart.series.empty()) return "";
  chart.yMin = 0;
  double hi = 0;
  for (const auto& s : chart.series)
    for (double v : s.y)
      if (std::isfinite(v)) hi = std::max(hi, v);
  chart.yMax = hi > 0 ? hi * 1.1 : 1;
  return "<div class=\"charts\">" + svg::lineChart(chart) + "</div>" + table.str() +
         "<p class=\"note\">Clear (cloud-free, per the SCL) observations per pixel in each compositing period, "
         "averaged over the tile, from the cube's valid layer; the per-pixel sum is maps/&lt;tile&gt;_clear.tif.</p>";
}

// ---- benchmarks -----------------------------------------------------------------------

std::string benchSection(const Config& cfg) {
  const fs::path dir = fs::path(cfg.run.output) / "bench";
  if (!fs::exists(dir)) return "";
  std::map<int, double> rate;
  for (const auto& e : fs::directory_iterator(dir)) {
    const std::string name = e.path().filename().string();
    if (name.rfind("train_np", 0) != 0 || e.path().extension() != ".json") continue;
    const json::Value v = json::parseFile(e.path().string());
    rate[static_cast<int>(v.numberOr("ranks", 0))] = v.numberOr("samples_per_s", NAN);
  }
  if (rate.empty() || !rate.count(1)) return "";
  std::vector<std::string> ticks;
  svg::Series speedup{"measured speed-up", {}, ""}, ideal{"ideal", {}, "#999999"};
  std::ostringstream table;
  table << "<table><tr><th>ranks</th><th>samples/s</th><th>speed-up vs 1 rank</th><th>efficiency</th></tr>";
  for (const auto& [ranks, r] : rate) {
    const double sp = r / rate.at(1);
    ticks.push_back(std::to_string(ranks));
    speedup.y.push_back(sp);
    ideal.y.push_back(ranks);
    table << "<tr><td>" << ranks << "</td><td>" << fmt(r, 0) << "</td><td>" << fmt(sp, 2) << "</td><td>"
          << fmt(sp / ranks, 2) << "</td></tr>";
  }
  table << "</table>";
  svg::LineChart chart{"training throughput scaling", "ranks", "speed-up", ticks, {speedup, ideal}};
  return "<div class=\"charts\">" + svg::lineChart(chart) + "</div>" + table.str() +
         "<p class=\"note\">From " + escape(dir.string()) + "/train_np*.json (`cropmap bench train`); ratios against "
         "the 1-rank run of the same benchmark.</p>";
}

}  // namespace

std::string writeReport(const Config& cfg) {
  const std::string cube = cubePath(cfg);
  if (!fs::exists(cube)) throw UsageError(cube + ": no cube; the report needs at least `cropmap composite`");
  Cube c = Cube::open(cube, MPI_COMM_SELF, false);
  const CubeLayout layout = c.layout();
  const std::vector<TileGrid> tiles = c.tiles();
  c.close();

  Page page;
  page.section("Configuration", configSection(cfg, layout, tiles));
  if (auto html = mapsSection(cfg, tiles); !html.empty()) page.section("Crop maps", html);

  const std::string reportJson = (fs::path(trainOutputDir(cfg)) / "report.json").string();
  if (fs::exists(reportJson)) {
    const json::Value r = json::parseFile(reportJson);
    std::string html = "<p class=\"note\">Model " + escape(r.stringOr("model", "")) + " (" +
                       escape(r.stringOr("model_type", "")) + "), scored on the " +
                       escape(r.stringOr("split", "test")) + " split of " + escape(r.stringOr("samples_file", "")) +
                       ".</p>";
    if (const auto* px = r.find("pixel")) html += accuracySection(*px, "pixel level");
    if (const auto* pa = r.find("parcel")) html += accuracySection(*pa, "parcel level");
    page.section("Accuracy on the test split", html);
    if (const auto* stop = r.find("stopping"))
      page.section("Early classification (earlyrnn)",
                   "<p>Mean stopping step " + fmt(stop->numberOr("mean_step", NAN) + 1, 2) + " &#177; " +
                       fmt(stop->numberOr("std_step", NAN), 2) + " of " +
                       std::to_string(static_cast<int>(stop->numberOr("periods", 0))) +
                       " periods (counted from 1), on average in the period starting " +
                       escape(stop->stringOr("mean_step_period_start", "?")) + ".</p>");
  }
  if (auto html = cvSection(cfg); !html.empty()) page.section("Cross-validation", html);
  if (auto html = learningSection((fs::path(trainOutputDir(cfg)) / "metrics.jsonl").string()); !html.empty())
    page.section("Learning curves", html);
  if (auto html = clearSection(cfg, tiles, layout); !html.empty())
    page.section("Clear-sky observations per tile and period", html);
  if (auto html = benchSection(cfg); !html.empty()) page.section("Benchmark scaling", html);

  const std::string html = "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
                           "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>cropmap "
                           "report: " + escape(cfg.run.name) + "</title>\n<style>" + kCss + "</style></head>\n<body>\n"
                           "<header><h1>cropmap report: " + escape(cfg.run.name) + "</h1><p>" +
                           std::to_string(tiles.size()) + " tile(s), " + std::to_string(layout.periods.size()) +
                           " periods, " + escape(fs::absolute(cfg.run.output).string()) + "</p></header>\n<main>\n" +
                           page.body + "</main>\n</body></html>\n";
  const std::string path = (fs::path(cfg.run.output) / "report" / "index.html").string();
  fs::create_directories(fs::path(path).parent_path());
  writeTextAtomically(path, html);
  return path;
}

namespace {

int runReportCommand(CommandContext& ctx) {
  const Comm comm(ctx.comm());
  std::string path, stacCollection, error;
  if (comm.root()) {
    try {
      const StacFiles stac = writeStac(ctx.config);
      stacCollection = stac.collection;
      path = writeReport(ctx.config);
    } catch (const UsageError& e) {
      error = e.what();
    }
  }
  error = comm.bcast(error, "report: outcome");
  if (!error.empty()) throw UsageError(error);
  if (comm.root()) {
    std::printf("stac     %s\n", stacCollection.c_str());
    std::printf("report   %s\n", fs::absolute(path).string().c_str());
    std::fflush(stdout);
  }
  comm.barrier("report: written");
  return 0;
}

}  // namespace

}  // namespace cropmap::report

namespace cropmap {

Command reportCommand() {
  Command c;
  c.name = "report";
  c.summary = "the run's results as one self-contained HTML page, and STAC metadata of maps and cube";
  c.description =
      "Writes <run.output>/report/index.html (no network needed to view it: inline CSS, SVG plots, PNG\n"
      "quick-looks): configuration, maps with legend, per-class accuracy and confusion heatmap, learning\n"
      "curves, cross-validation folds and earlyrnn stopping when present, clear observations per tile and\n"
      "period, benchmark scaling when <run.output>/bench holds results. Also writes STAC 1.0 metadata:\n"
      "<run.output>/stac/collection.json and an item per map and for the cube. Rank 0 does the work.";
  c.run = report::runReportCommand;
  return c;
}

}  // namespace cropmap
