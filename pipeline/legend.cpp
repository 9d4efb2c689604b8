#include "legend.hpp"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <fstream>
#include <set>
#include <sstream>
#include <stdexcept>

namespace cropmap {

namespace {
[[noreturn]] void bad(const std::string& file, const YAML::Node& n, const std::string& msg) {
  std::string where = file;
  if (n.IsDefined()) where += ":" + std::to_string(n.Mark().line + 1);
  throw std::runtime_error(where + ": legend: " + msg);
}

std::array<std::uint8_t, 3> parseColour(const std::string& file, const YAML::Node& n) {
  const std::string s = n.Scalar();
  if (s.size() != 7 || s[0] != '#') bad(file, n, "colour '" + s + "' is not #RRGGBB");
  std::array<std::uint8_t, 3> c{};
  for (int i = 0; i < 3; ++i) {
    try {
      size_t used = 0;
      c[i] = static_cast<std::uint8_t>(std::stoi(s.substr(1 + 2 * i, 2), &used, 16));
      if (used != 2) throw std::invalid_argument("hex");
    } catch (const std::exception&) {
      bad(file, n, "colour '" + s + "' is not #RRGGBB");
    }
  }
  return c;
}
}  // namespace

Legend Legend::load(const std::string& file) {
  std::ifstream in(file);
  if (!in) throw std::runtime_error(file + ": cannot read the legend file; check labels.legend");
  std::stringstream ss;
  ss << in.rdbuf();
  return parse(ss.str(), file);
}

Legend Legend::parse(const std::string& text, const std::string& file) {
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::ParserException& e) {
    throw std::runtime_error(file + ":" + std::to_string(e.mark.line + 1) + ": legend: invalid YAML: " + e.msg);
  }
  if (!root.IsMap()) bad(file, root, "expected a mapping with 'classes'");
  Legend L;
  L.file = file;
  for (auto it = root.begin(); it != root.end(); ++it) {
    const std::string k = it->first.Scalar();
    if (k != "name" && k != "classes" && k != "groups" && k != "ignore" && k != "source")
      bad(file, it->first, "unknown key '" + k + "' (expected name, source, classes, groups, ignore)");
  }
  if (root["name"]) L.name = root["name"].Scalar();

  std::map<std::string, int> groupByName;
  if (const auto g = root["groups"]) {
    if (!g.IsSequence()) bad(file, g, "'groups' must be a list");
    for (const auto& e : g) {
      if (!e.IsMap() || !e["id"] || !e["name"]) bad(file, e, "a group needs id and name");
      LegendGroup lg;
      try {
        lg.id = e["id"].as<int>();
      } catch (const YAML::Exception&) {
        bad(file, e["id"], "group id must be an integer");
      }
      lg.name = e["name"].Scalar();
      if (groupByName.count(lg.name)) bad(file, e, "group '" + lg.name + "' declared twice");
      groupByName[lg.name] = lg.id;
      L.groups.push_back(lg);
    }
    std::sort(L.groups.begin(), L.groups.end(), [](auto& a, auto& b) { return a.id < b.id; });
    for (size_t i = 0; i < L.groups.size(); ++i)
      if (L.groups[i].id != static_cast<int>(i)) bad(file, g, "group ids must be 0.." + std::to_string(L.groups.size() - 1));
  }

  const auto cls = root["classes"];
  if (!cls || !cls.IsSequence() || cls.size() == 0) bad(file, root, "'classes' must be a non-empty list");
  std::set<std::string> names;
  for (const auto& e : cls) {
    if (!e.IsMap() || !e["id"] || !e["name"] || !e["codes"]) bad(file, e, "a class needs id, name and codes");
    LegendClass c;
    try {
      c.id = e["id"].as<int>();
    } catch (const YAML::Exception&) {
      bad(file, e["id"], "class id must be an integer");
    }
    c.name = e["name"].Scalar();
    if (!names.insert(c.name).second) bad(file, e, "class name '" + c.name + "' used twice");
    if (e["colour"]) c.colour = parseColour(file, e["colour"]);
    if (!e["codes"].IsSequence()) bad(file, e["codes"], "codes of class '" + c.name + "' must be a list");
    for (const auto& code : e["codes"]) c.codes.push_back(code.Scalar());
    if (e["group"]) {
      auto gi = groupByName.find(e["group"].Scalar());
      if (gi == groupByName.end()) bad(file, e["group"], "class '" + c.name + "' names undeclared group '" + e["group"].Scalar() + "'");
      c.group = gi->second;
    } else if (!L.groups.empty()) {
      bad(file, e, "class '" + c.name + "' has no group, but the legend declares groups");
    }
    for (const auto& code : c.codes) {
      if (L.codeToClass_.count(code)) bad(file, e["codes"], "code '" + code + "' belongs to two classes");
      L.codeToClass_[code] = c.id;
    }
    L.classes.push_back(std::move(c));
  }
  std::sort(L.classes.begin(), L.classes.end(), [](auto& a, auto& b) { return a.id < b.id; });
  for (size_t i = 0; i < L.classes.size(); ++i)
    if (L.classes[i].id != static_cast<int>(i))
      bad(file, cls, "class ids must be 0.." + std::to_string(L.classes.size() - 1) + " without gaps");
  if (const auto ig = root["ignore"]) {
    if (!ig.IsSequence()) bad(file, ig, "'ignore' must be a list of codes");
    for (const auto& code : ig) {
      if (L.codeToClass_.count(code.Scalar())) bad(file, code, "code '" + code.Scalar() + "' is both a class code and ignored");
      L.ignore.push_back(code.Scalar());
    }
  }
  return L;
}

int Legend::classOf(const std::string& code, int level) const {
  auto it = codeToClass_.find(code);
  if (it == codeToClass_.end())
    return std::find(ignore.begin(), ignore.end(), code) != ignore.end() ? kIgnored : kUnknown;
  if (level == 0) return it->second;
  return classes[it->second].group;
}

std::vector<std::string> Legend::classNames(int level) const {
  std::vector<std::string> out;
  if (level == 0)
    for (const auto& c : classes) out.push_back(c.name);
  else
    for (const auto& g : groups) out.push_back(g.name);
  return out;
}

}  // namespace cropmap
