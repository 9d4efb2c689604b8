#include "config.hpp"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <sstream>
#include <unordered_map>

#include "legend.hpp"

namespace cropmap {

// ---------------------------------------------------------------------------
// ConfigError, Declarer, value printing

static std::string locate(const std::string& file, int line) {
  std::string s = file.empty() ? std::string("<config>") : file;
  if (line > 0) s += ":" + std::to_string(line);
  return s;
}

ConfigError::ConfigError(std::string file, int line, std::string key, const std::string& message)
    : std::runtime_error(locate(file, line) + ": " + (key.empty() ? "" : "key '" + key + "': ") + message),
      file_(std::move(file)),
      line_(line),
      key_(std::move(key)),
      message_(message) {}

std::string Declarer::joined() const {
  std::string s;
  for (const auto& p : prefix_) s += (s.empty() ? "" : ".") + p;
  return s;
}

static std::string shortestDouble(double v) {
  if (std::isfinite(v) && v == std::floor(v) && std::fabs(v) < 1e15) {
    std::ostringstream os;
    os << static_cast<long long>(v) << ".0";
    return os.str();
  }
  for (int prec = 6; prec <= 17; ++prec) {
    std::ostringstream os;
    os.precision(prec);
    os << v;
    if (std::strtod(os.str().c_str(), nullptr) == v) return os.str();
  }
  std::ostringstream os;
  os.precision(17);
  os << v;
  return os.str();
}

static std::string quoted(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out + "\"";
}

template <class T>
static std::string itemYaml(const T& v) {
  if constexpr (std::is_same_v<T, std::string>) return quoted(v);
  else if constexpr (std::is_same_v<T, double>) return shortestDouble(v);
  else if constexpr (std::is_same_v<T, bool>) return v ? "true" : "false";
  else return std::to_string(v);
}

std::string optionValueYaml(const OptionRef& ref) {
  return std::visit(
      [](auto* p) -> std::string {
        using T = std::remove_pointer_t<decltype(p)>;
        if constexpr (std::is_same_v<T, std::vector<int>> || std::is_same_v<T, std::vector<double>> ||
                      std::is_same_v<T, std::vector<std::string>>) {
          std::string s = "[";
          for (size_t i = 0; i < p->size(); ++i) s += (i ? ", " : "") + itemYaml((*p)[i]);
          return s + "]";
        } else {
          return itemYaml(*p);
        }
      },
      ref);
}

std::string optionTypeName(const OptionRef& ref) {
  return std::visit(
      [](auto* p) -> std::string {
        using T = std::remove_pointer_t<decltype(p)>;
        if constexpr (std::is_same_v<T, bool>) return "boolean";
        else if constexpr (std::is_same_v<T, int> || std::is_same_v<T, std::int64_t>) return "integer";
        else if constexpr (std::is_same_v<T, double>) return "number";
        else if constexpr (std::is_same_v<T, std::string>) return "string";
        else if constexpr (std::is_same_v<T, std::vector<int>>) return "list of integers";
        else if constexpr (std::is_same_v<T, std::vector<double>>) return "list of numbers";
        else return "list of strings";
      },
      ref);
}

// ---------------------------------------------------------------------------
// Parsing scalars strictly (yaml-cpp's as<int> accepts too much and says too little)

namespace {

struct Where {
  std::string file;
  int line;
  std::string key;
  [[noreturn]] void fail(const std::string& msg) const { throw ConfigError(file, line, key, msg); }
};

std::string describe(const YAML::Node& n) {
  if (!n || n.IsNull()) return "nothing";
  if (n.IsSequence()) return "a list";
  if (n.IsMap()) return "a mapping";
  return "'" + n.Scalar() + "'";
}

std::string choicesText(const std::vector<std::string>& c) {
  std::string s;
  for (const auto& x : c) s += (s.empty() ? "" : "|") + x;
  return s;
}

std::string rangeText(const Option& o) {
  auto num = [](double v) {
    std::string s = shortestDouble(v);
    if (s.size() > 2 && s.compare(s.size() - 2, 2, ".0") == 0) s.resize(s.size() - 2);
    return s;
  };
  if (o.lo && o.hi) return num(*o.lo) + ".." + num(*o.hi);
  if (o.lo) return ">= " + num(*o.lo);
  if (o.hi) return "<= " + num(*o.hi);
  return "";
}

template <class T>
T parseItem(const YAML::Node& n, const Option& o, const Where& w, const char* what) {
  if (!n || !n.IsScalar()) w.fail(std::string("expected ") + what + ", got " + describe(n));
  const std::string& s = n.Scalar();
  T value{};
  if constexpr (std::is_same_v<T, bool>) {
    std::string l = s;
    std::transform(l.begin(), l.end(), l.begin(), ::tolower);
    if (l == "true" || l == "yes" || l == "on") value = true;
    else if (l == "false" || l == "no" || l == "off") value = false;
    else w.fail("expected true or false, got '" + s + "'");
    return value;
  } else if constexpr (std::is_integral_v<T>) {
    errno = 0;
    char* end = nullptr;
    long long v = std::strtoll(s.c_str(), &end, 10);
    if (s.empty() || *end != '\0' || errno == ERANGE)
      w.fail(std::string("expected ") + what + ", got '" + s + "'");
    if ((o.lo && v < *o.lo) || (o.hi && v > *o.hi))
      w.fail("value " + s + " out of range " + rangeText(o));
    if (v < static_cast<long long>(std::numeric_limits<T>::min()) ||
        v > static_cast<long long>(std::numeric_limits<T>::max()))
      w.fail("value " + s + " does not fit an integer option");
    return static_cast<T>(v);
  } else if constexpr (std::is_same_v<T, double>) {
    errno = 0;
    char* end = nullptr;
    double v = std::strtod(s.c_str(), &end);
    if (s.empty() || *end != '\0' || errno == ERANGE || !std::isfinite(v))
      w.fail(std::string("expected ") + what + ", got '" + s + "'");
    if ((o.lo && v < *o.lo) || (o.hi && v > *o.hi))
      w.fail("value " + s + " out of range " + rangeText(o));
    return v;
  } else {
    if (!o.choices.empty() && std::find(o.choices.begin(), o.choices.end(), s) == o.choices.end())
      w.fail("expected one of " + choicesText(o.choices) + ", got '" + s + "'");
    return s;
  }
}

void assign(const Option& o, const YAML::Node& n, const Where& w) {
  std::visit(
      [&](auto* p) {
        using T = std::remove_pointer_t<decltype(p)>;
        if constexpr (std::is_same_v<T, bool>) *p = parseItem<bool>(n, o, w, "true or false");
        else if constexpr (std::is_same_v<T, int>) *p = parseItem<int>(n, o, w, "an integer");
        else if constexpr (std::is_same_v<T, std::int64_t>) *p = parseItem<std::int64_t>(n, o, w, "an integer");
        else if constexpr (std::is_same_v<T, double>) *p = parseItem<double>(n, o, w, "a number");
        else if constexpr (std::is_same_v<T, std::string>) {
          if (!n || n.IsNull()) {
            if (!o.choices.empty()) w.fail("expected one of " + choicesText(o.choices) + ", got nothing");
            p->clear();
          } else {
            *p = parseItem<std::string>(n, o, w, "a string");
          }
        } else {
          using E = typename T::value_type;
          const char* what = std::is_same_v<E, std::string> ? "a string" : std::is_same_v<E, int> ? "an integer" : "a number";
          T out;
          if (n && !n.IsNull()) {
            if (!n.IsSequence()) w.fail("expected a list like [a, b], got " + describe(n));
            for (const auto& item : n) {
              Where wi{w.file, w.line > 0 ? static_cast<int>(item.Mark().line) + 1 : w.line, w.key};
              out.push_back(parseItem<E>(item, o, wi, what));
            }
          }
          *p = std::move(out);
        }
      },
      *o.ref);
}

size_t editDistance(const std::string& a, const std::string& b) {
  std::vector<size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (size_t j = 1; j <= b.size(); ++j)
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1)});
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

}  // namespace

// ---------------------------------------------------------------------------
// Config

void Config::declare(Declarer& d) {
  d.section("run", "Run identity and output directory", [&] { run.declare(d); });
  d.section("log", "Logging and progress", [&] { log.declare(d); });
  d.section("compute", "Resources per MPI rank", [&] { compute.declare(d); });
  d.section("synth", "Synthetic Sentinel-2 L2A region (cropmap synth)", [&] { synth.declare(d); });
  d.section("inputs", "Sentinel-2 L2A inputs (cropmap catalog)", [&] { inputs.declare(d); });
  d.section("composite", "Cloud masking, period medians and gap filling (cropmap composite)",
            [&] { composite.declare(d); });
  d.section("labels", "Parcel register to labels (cropmap labels)", [&] { labels.declare(d); });
  d.section("split", "Spatially disjoint train/validation/test zones (cropmap split)", [&] { split.declare(d); });
  d.section("sample", "Training sample tables (cropmap sample)", [&] { sample.declare(d); });
  d.section("train", "Data-parallel training (cropmap train)", [&] { train.declare(d); });
  d.section("predict", "Distributed inference to maps (cropmap predict)", [&] { predict.declare(d); });
  d.section("cv", "Spatial cross-validation, baselines and nested model selection (cropmap cv)",
            [&] { cv.declare(d); });
}

Config Config::defaults() { return Config{}; }

static std::unordered_map<std::string, const Option*> indexOptions(const std::deque<Option>& opts) {
  std::unordered_map<std::string, const Option*> idx;
  for (const auto& o : opts) idx[o.path] = &o;
  return idx;
}

static std::string suggestion(const std::deque<Option>& opts, const std::string& path) {
  // Keys that moved: configurations written for earlier versions get the new name.
  static const std::map<std::string, std::string> moved = {
      {"composite.scheduler", "compute.scheduler"},
      {"predict.scheduler", "compute.scheduler"},
  };
  if (auto m = moved.find(path); m != moved.end()) return " (it moved: use '" + m->second + "')";
  std::string best;
  size_t bestD = 4;
  for (const auto& o : opts) {
    size_t d = editDistance(o.path, path);
    if (d < bestD) {
      bestD = d;
      best = o.path;
    }
  }
  return best.empty() ? "" : " (did you mean '" + best + "'?)";
}

void Config::loadYamlText(const std::string& text, const std::string& file) {
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::ParserException& e) {
    throw ConfigError(file, e.mark.line + 1, "", "invalid YAML: " + e.msg);
  }
  if (!root || root.IsNull()) return;
  if (!root.IsMap()) throw ConfigError(file, root.Mark().line + 1, "", "expected a mapping of sections at the top level");

  Declarer d;
  declare(d);
  auto idx = indexOptions(d.options());
  std::function<void(const YAML::Node&, const std::string&)> walk = [&](const YAML::Node& map,
                                                                        const std::string& prefix) {
    std::map<std::string, int> seen;  // key -> line: YAML parsers keep one of two equal keys silently
    for (auto it = map.begin(); it != map.end(); ++it) {
      const int line = static_cast<int>(it->first.Mark().line) + 1;
      if (!it->first.IsScalar()) throw ConfigError(file, line, prefix, "keys must be plain names");
      const std::string path = prefix.empty() ? it->first.Scalar() : prefix + "." + it->first.Scalar();
      if (const auto [at, fresh] = seen.emplace(it->first.Scalar(), line); !fresh)
        throw ConfigError(file, line, path,
                          "given twice (first at line " + std::to_string(at->second) + "); keep one of them");
      auto found = idx.find(path);
      if (found == idx.end())
        throw ConfigError(file, line, path,
                          "unknown key" + suggestion(d.options(), path) + "; see `cropmap config --dump`");
      const Option& o = *found->second;
      if (o.isSection()) {
        if (it->second.IsNull()) continue;
        if (!it->second.IsMap())
          throw ConfigError(file, line, path, "expected a section (a mapping), got " + describe(it->second));
        walk(it->second, path);
      } else {
        int vline = it->second.IsDefined() && !it->second.IsNull() ? static_cast<int>(it->second.Mark().line) + 1 : line;
        assign(o, it->second, Where{file, vline, path});
        origin[path] = {file, line};
      }
    }
  };
  walk(root, "");
}

void Config::applyOverride(const std::string& assignment) {
  const auto eq = assignment.find('=');
  if (eq == std::string::npos || eq == 0)
    throw ConfigError("--set", 0, "", "expected section.key=value, got '" + assignment + "'");
  const std::string path = assignment.substr(0, eq);
  const std::string value = assignment.substr(eq + 1);
  Declarer d;
  declare(d);
  auto idx = indexOptions(d.options());
  auto found = idx.find(path);
  if (found == idx.end())
    throw ConfigError("--set", 0, path, "unknown key" + suggestion(d.options(), path) + "; see `cropmap config --dump`");
  if (found->second->isSection())
    throw ConfigError("--set", 0, path, "is a section; set one of its keys, e.g. --set " + path + ".KEY=VALUE");
  YAML::Node n;
  try {
    n = YAML::Load(value);
  } catch (const YAML::ParserException& e) {
    throw ConfigError("--set", 0, path, "invalid value '" + value + "': " + e.msg);
  }
  assign(*found->second, n, Where{"--set", 0, path});
  origin[path] = {"--set", 0};
}

Config Config::load(const std::string& file, const std::vector<std::string>& overrides) {
  Config c;
  if (!file.empty()) {
    std::ifstream in(file);
    if (!in) throw ConfigError(file, 0, "", "cannot read the configuration file; check the path given to --config");
    std::stringstream ss;
    ss << in.rdbuf();
    c.source = file;
    c.loadYamlText(ss.str(), file);
  }
  for (const auto& o : overrides) c.applyOverride(o);
  c.applySynthDefaults();
  c.validate();
  return c;
}

void Config::fail(const std::string& path, const std::string& message) const {
  auto it = origin.find(path);
  if (it != origin.end()) throw ConfigError(it->second.first, it->second.second, path, message);
  throw ConfigError(source.empty() ? "<defaults>" : source, 0, path, message);
}

static bool isIsoDate(const std::string& s) {
  if (s.size() != 10 || s[4] != '-' || s[7] != '-') return false;
  for (size_t i : {0, 1, 2, 3, 5, 6, 8, 9})
    if (!std::isdigit(static_cast<unsigned char>(s[i]))) return false;
  int m = std::stoi(s.substr(5, 2)), d = std::stoi(s.substr(8, 2));
  return m >= 1 && m <= 12 && d >= 1 && d <= 31;
}

static bool isMgrsTile(const std::string& t) {
  if (t.size() != 5) return false;
  return std::isdigit(static_cast<unsigned char>(t[0])) && std::isdigit(static_cast<unsigned char>(t[1])) &&
         std::isupper(static_cast<unsigned char>(t[2])) && std::isupper(static_cast<unsigned char>(t[3])) &&
         std::isupper(static_cast<unsigned char>(t[4])) && std::stoi(t.substr(0, 2)) >= 1 &&
         std::stoi(t.substr(0, 2)) <= 60;
}

void Config::validate() const {
  if (run.output.empty()) fail("run.output", "must not be empty");
  // Everything cropmap writes or deletes stays below run.output, symlinks and
  // '..' resolved: an output path that leaves it could make cropmap replace
  // files that are not its own.
  {
    namespace fs = std::filesystem;
    std::error_code ec;
    const fs::path base = fs::weakly_canonical(fs::absolute(run.output), ec);
    for (const auto& [key, rel] : {std::pair<std::string, std::string>{"synth.output", synth.output},
                                   {"sample.output", sample.output},
                                   {"train.output", train.output},
                                   {"cv.output", cv.output}}) {
      if (rel.empty() || rel == ".") fail(key, "must name a path below run.output");
      const fs::path target = fs::weakly_canonical(base / rel, ec);
      const fs::path inside = target.lexically_relative(base);
      if (fs::path(rel).is_absolute() || inside.empty() || *inside.begin() == ".." || inside == ".")
        fail(key, "'" + rel + "' resolves to " + target.string() + ", outside run.output (" + base.string() +
                      "); cropmap writes and deletes only below run.output: give a relative path inside it");
    }
  }
  for (const auto& t : synth.tiles)
    if (!isMgrsTile(t)) fail("synth.tiles", "'" + t + "' is not a Sentinel-2 tile id like 33UVP");
  for (const auto& t : inputs.tiles)
    if (!isMgrsTile(t)) fail("inputs.tiles", "'" + t + "' is not a Sentinel-2 tile id like 33UVP");
  if (synth.enabled && synth.tiles.empty()) fail("synth.tiles", "synth.enabled needs at least one tile");
  {
    std::vector<std::string> t = synth.tiles;
    std::sort(t.begin(), t.end());
    if (std::adjacent_find(t.begin(), t.end()) != t.end()) fail("synth.tiles", "a tile is listed twice");
  }
  if (synth.size % 2 != 0) fail("synth.size", "must be even: the 20 m bands and SCL have size/2 pixels");
  if (synth.block_rows % 2 != 0) fail("synth.block_rows", "must be even: rows are generated in 20 m pairs");
  if (inputs.bands.empty()) fail("inputs.bands", "at least one band is needed");
  {
    std::vector<std::string> b = inputs.bands;
    std::sort(b.begin(), b.end());
    if (std::adjacent_find(b.begin(), b.end()) != b.end()) fail("inputs.bands", "a band is listed twice");
  }
  if (composite.block_size % composite.chunk != 0)
    fail("composite.chunk", "chunk " + std::to_string(composite.chunk) + " must divide composite.block_size " +
                                std::to_string(composite.block_size));
  if (composite.period == "custom") {
    if (composite.edges.size() < 2)
      fail("composite.edges", "period: custom needs at least two dates (period starts, then the end)");
    for (size_t i = 0; i < composite.edges.size(); ++i) {
      if (!isIsoDate(composite.edges[i]))
        fail("composite.edges", "'" + composite.edges[i] + "' is not a date YYYY-MM-DD");
      if (i > 0 && composite.edges[i] <= composite.edges[i - 1])
        fail("composite.edges", "dates must increase ('" + composite.edges[i] + "' follows '" +
                                    composite.edges[i - 1] + "')");
    }
  } else if (!composite.edges.empty()) {
    fail("composite.edges", "edges are only used with composite.period: custom");
  }
  for (const auto& idxName : composite.indices) {
    auto has = [&](const char* b) {
      return std::find(inputs.bands.begin(), inputs.bands.end(), b) != inputs.bands.end();
    };
    if (idxName == "NDVI" && !(has("B04") && has("B08"))) fail("composite.indices", "NDVI needs bands B04 and B08");
    if (idxName == "GNDVI" && !(has("B03") && has("B08"))) fail("composite.indices", "GNDVI needs bands B03 and B08");
  }
  if (split.ratios.size() != 3) fail("split.ratios", "expected three shares: train, validation, test");
  {
    double s = split.ratios[0] + split.ratios[1] + split.ratios[2];
    if (std::fabs(s - 1.0) > 1e-6) fail("split.ratios", "shares must add up to 1, they add up to " + shortestDouble(s));
  }
  if (train.model == "lstm" && train.hidden.empty()) fail("train.hidden", "lstm needs at least one layer size");
  if (train.kernel_size % 2 == 0) fail("train.kernel_size", "must be odd, so that the series keeps its length");
  for (int k : cv.grid_kernel)
    if (k % 2 == 0) fail("cv.grid_kernel", std::to_string(k) + " is even; kernel sizes must be odd");
  if (!cv.baseline.empty() && !findModel(cv.baseline))
    fail("cv.baseline", "'" + cv.baseline + "' is not a model of train.model's table");
  if (cv.enabled && split.folds < 2)
    fail("cv.enabled", "cross-validation needs split.folds of 2 or more (it is " + std::to_string(split.folds) + ")");
  const ModelKind& model = modelKind(train.model);
  if (train.loss == "early_reward" && !model.earlyStopping)
    fail("train.loss", "early_reward trains the stopping head of earlyrnn; use ce or weighted_ce for " + train.model);
  if (model.earlyStopping && (train.loss == "ce" || train.loss == "weighted_ce"))
    fail("train.loss", train.model + " is trained with early_reward (or auto)");
  if (model.engine == "xgboost" && train.finetune_epochs > 0)
    fail("train.finetune_epochs", "xgboost has no fine-tuning phase; set it to 0");
  if (train.finetune_epochs > 0 && train.loss != "weighted_ce")
    fail("train.finetune_epochs", "the fine-tuning phase follows a weighted_ce phase; set train.loss: weighted_ce");
  if (!labels.legend.empty()) {
    Legend legend;
    try {
      legend = Legend::load(labels.legend);
    } catch (const std::exception& e) {
      fail("labels.legend", e.what());
    }
    try {
      legend = legend.withChanges(labels.merge_classes, labels.drop_classes);
    } catch (const std::exception& e) {
      fail(std::string(e.what()).rfind("drop_classes", 0) == 0 ? "labels.drop_classes" : "labels.merge_classes",
           e.what());
    }
    if (labels.level == 1 && legend.groups.empty())
      fail("labels.level", "level 1 trains on the legend's groups, but " + labels.legend + " declares none");
  }
  if (sample.train_size > 0 && sample.min_per_class > sample.train_size)
    fail("sample.min_per_class", "the guaranteed minimum per class exceeds sample.train_size");
}

void Config::applySynthDefaults() {
  if (!synth.enabled) return;
  const std::string root = run.output + "/" + synth.output;
  if (inputs.safe.empty() && inputs.geotiff.empty() && inputs.csv.empty() && inputs.stac.empty()) {
    if (synth.layout == "geotiff") inputs.geotiff = {root + "/geotiff"};
    else inputs.safe = {root + "/safe"};
  }
  if (labels.parcels.empty()) labels.parcels = root + "/parcels.gpkg";
  if (split.zones.empty() && split.mode == "region_holdout") split.zones = root + "/zones.gpkg";
}

int Config::threads() const {
  if (compute.threads > 0) return compute.threads;
  if (const char* s = std::getenv("SLURM_CPUS_PER_TASK")) {
    int v = std::atoi(s);
    if (v > 0) return v;
  }
  return 1;
}

// ---------------------------------------------------------------------------
// Dumping

static int depthOf(const std::string& path) { return static_cast<int>(std::count(path.begin(), path.end(), '.')); }
static std::string leaf(const std::string& path) {
  auto p = path.rfind('.');
  return p == std::string::npos ? path : path.substr(p + 1);
}

static std::string render(const Config& c, bool annotate) {
  Config copy = c;  // declare() needs non-const members; values are only read
  Config defaults;
  Declarer d, dd;
  copy.declare(d);
  defaults.declare(dd);
  std::ostringstream os;
  if (annotate)
    os << "# cropmap configuration: every option with its type, default and allowed values.\n"
          "# Load it with `--config FILE`; change single keys with `--set section.key=value`.\n";
  auto di = dd.options().begin();
  for (const auto& o : d.options()) {
    const Option& def = *di++;
    std::string indent(2 * depthOf(o.path), ' ');
    if (o.isSection()) {
      if (annotate) os << "\n" << indent << "# " << o.doc << "\n";
      os << indent << leaf(o.path) << ":\n";
      continue;
    }
    if (annotate) {
      os << indent << "# " << o.doc << "\n";
      os << indent << "# " << optionTypeName(*o.ref) << "; default: " << optionValueYaml(*def.ref);
      if (!o.choices.empty()) os << "; one of: " << choicesText(o.choices);
      std::string r = rangeText(o);
      if (!r.empty()) os << "; range: " << r;
      os << "\n";
    }
    os << indent << leaf(o.path) << ": " << optionValueYaml(*o.ref) << "\n";
  }
  return os.str();
}

std::string Config::dump() const { return render(*this, true); }
std::string Config::yaml() const { return render(*this, false); }

std::string Config::sectionYaml(const std::string& section) const {
  Config copy = *this;
  Declarer d;
  copy.declare(d);
  bool known = false;
  std::ostringstream os;
  for (const auto& o : d.options()) {
    if (o.path != section && o.path.rfind(section + ".", 0) != 0) continue;
    known = true;
    std::string indent(2 * depthOf(o.path), ' ');
    if (o.isSection()) os << indent << leaf(o.path) << ":\n";
    else os << indent << leaf(o.path) << ": " << optionValueYaml(*o.ref) << "\n";
  }
  if (!known) throw std::invalid_argument("no configuration section '" + section + "'");
  return os.str();
}

}  // namespace cropmap
