#include "legend.hpp"

#include "config/labels.hpp"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <iterator>
#include <fstream>
#include <set>
#include <sstream>
#include <stdexcept>

#include "identity.hpp"

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
    if (k != "name" && k != "classes" && k != "groups" && k != "ignore" && k != "source" && k != "code_names")
      bad(file, it->first, "unknown key '" + k + "' (expected name, source, classes, groups, ignore, code_names)");
  }
  if (root["name"]) L.name = root["name"].Scalar();
  if (const auto cn = root["code_names"]) {
    if (!cn.IsMap()) bad(file, cn, "'code_names' must map codes to names");
    for (auto it = cn.begin(); it != cn.end(); ++it) L.codeNames[it->first.Scalar()] = it->second.Scalar();
  }

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

Legend Legend::withChanges(const std::vector<std::string>& merge, const std::vector<std::string>& drop) const {
  if (merge.empty() && drop.empty()) return *this;
  auto find = [&](const std::string& name, const char* what) -> const LegendClass& {
    for (const auto& c : classes)
      if (c.name == name) return c;
    throw std::invalid_argument(std::string(what) + ": '" + name + "' is not a class of " + file);
  };
  std::set<std::string> merged, dropped;
  for (const auto& n : merge) {
    if (groups.empty())
      throw std::invalid_argument("merge_classes: " + file + " declares no groups to merge '" + n + "' into");
    merged.insert(find(n, "merge_classes").name);
  }
  for (const auto& n : drop) {
    if (merged.count(n)) throw std::invalid_argument("'" + n + "' is both in merge_classes and drop_classes");
    dropped.insert(find(n, "drop_classes").name);
  }
  Legend out = *this;
  out.classes.clear();
  out.codeToClass_.clear();
  for (const auto& c : classes)
    if (!merged.count(c.name) && !dropped.count(c.name)) out.classes.push_back(c);
    else if (dropped.count(c.name)) out.ignore.insert(out.ignore.end(), c.codes.begin(), c.codes.end());
  for (const auto& c : classes) {
    if (!merged.count(c.name)) continue;
    const std::string target = groups[static_cast<size_t>(c.group)].name;
    auto it = std::find_if(out.classes.begin(), out.classes.end(), [&](const LegendClass& k) { return k.name == target; });
    if (it == out.classes.end()) {
      LegendClass g = c;
      g.name = target;
      g.codes.clear();
      out.classes.push_back(g);
      it = out.classes.end() - 1;
    }
    it->codes.insert(it->codes.end(), c.codes.begin(), c.codes.end());
  }
  if (out.classes.empty()) throw std::invalid_argument(file + ": merge_classes and drop_classes leave no class");
  for (size_t i = 0; i < out.classes.size(); ++i) {
    out.classes[i].id = static_cast<int>(i);
    for (const auto& code : out.classes[i].codes) out.codeToClass_[code] = static_cast<int>(i);
  }
  return out;
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

namespace cropmap {

namespace {

[[noreturn]] void tableError(const std::string& file, int line, const std::string& msg) {
  throw std::invalid_argument(file + (line > 0 ? ":" + std::to_string(line) : std::string()) + ": code table: " + msg);
}

// Splits a CSV text into records of fields (RFC 4180 quoting; quoted fields may span lines).
std::vector<std::pair<int, std::vector<std::string>>> csvRecords(const std::string& text, char sep) {
  std::vector<std::pair<int, std::vector<std::string>>> out;
  std::vector<std::string> rec;
  std::string field;
  bool quoted = false, any = false;
  int line = 1, start = 1;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (quoted) {
      if (c == '"' && i + 1 < text.size() && text[i + 1] == '"') {
        field += '"';
        ++i;
      } else if (c == '"') {
        quoted = false;
      } else {
        if (c == '\n') ++line;
        field += c;
      }
    } else if (c == '"') {
      quoted = any = true;
    } else if (c == sep) {
      rec.push_back(field);
      field.clear();
      any = true;
    } else if (c == '\n' || c == '\r') {
      if (c == '\r' && i + 1 < text.size() && text[i + 1] == '\n') ++i;
      if (any || !field.empty()) {
        rec.push_back(field);
        out.emplace_back(start, std::move(rec));
      }
      rec.clear();
      field.clear();
      any = false;
      start = ++line;
    } else {
      field += c;
      any = true;
    }
  }
  if (any || !field.empty()) {
    rec.push_back(field);
    out.emplace_back(start, std::move(rec));
  }
  return out;
}

std::string trim(const std::string& s) {
  const auto a = s.find_first_not_of(" \t");
  if (a == std::string::npos) return "";
  return s.substr(a, s.find_last_not_of(" \t") - a + 1);
}

// A YAML double-quoted scalar.
std::string q(const std::string& s) {
  std::string o = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') o += '\\';
    if (c == '\n' || c == '\t') {
      o += ' ';
      continue;
    }
    o += c;
  }
  return o + "\"";
}

// Distinct hues for generated classes (a qualitative palette, then variations).
std::string colourFor(size_t i) {
  static const char* kBase[] = {"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2",
                                "#7f7f7f", "#bcbd22", "#17becf", "#aec7e8", "#ffbb78", "#98df8a", "#ff9896",
                                "#c5b0d5", "#c49c94", "#f7b6d2", "#c7c7c7", "#dbdb8d", "#9edae5"};
  const size_t n = std::size(kBase);
  if (i < n) return kBase[i];
  const unsigned v = static_cast<unsigned>(cropmap::fnv1a(std::to_string(i)) & 0xffffffu);
  char buf[8];
  std::snprintf(buf, sizeof buf, "#%06x", v);
  return buf;
}

}  // namespace

CodeTable CodeTable::combine(const std::vector<CodeTable>& tables) {
  if (tables.size() == 1) return tables.front();
  CodeTable t;
  std::map<std::string, std::string> where;  // code -> "file line N"
  auto join = [](std::string& into, const std::string& v) {
    if (into.empty()) into = v;
    else if (into != v && into.find(" / " + v) == std::string::npos) into += " / " + v;
  };
  std::string hashes;
  for (const auto& x : tables) {
    const std::string name = std::filesystem::path(x.file).filename().string();
    t.file += (t.file.empty() ? "" : " + ") + name;
    join(t.codeColumn, x.codeColumn);
    join(t.nameColumn, x.nameColumn);
    join(t.classColumn, x.classColumn);
    hashes += hex64(x.fnv1a);
    t.continuations += x.continuations;
    for (const auto& r : x.rows) {
      const std::string here = x.file + " line " + std::to_string(r.line);
      if (auto [it, fresh] = where.emplace(r.code, here); !fresh)
        throw std::invalid_argument("code '" + r.code + "' is in two tables (" + it->second + " and " + here +
                                    "): one legend over several registers needs codes that differ between them");
      t.rows.push_back(r);
    }
  }
  t.fnv1a = cropmap::fnv1a(hashes);
  return t;
}

CodeTable CodeTable::read(const std::string& file, std::string codeColumn, std::string nameColumn,
                          std::string classColumn) {
  std::ifstream in(file, std::ios::binary);
  if (!in) tableError(file, 0, "cannot read the file");
  std::stringstream ss;
  ss << in.rdbuf();
  std::string text = ss.str();
  CodeTable t;
  t.file = file;
  t.fnv1a = cropmap::fnv1a(text);
  if (text.rfind("\xEF\xBB\xBF", 0) == 0) text.erase(0, 3);
  const std::string header = text.substr(0, text.find('\n'));
  const char sep = std::count(header.begin(), header.end(), ';') > std::count(header.begin(), header.end(), ',') ? ';' : ',';
  auto records = csvRecords(text, sep);
  if (records.size() < 2) tableError(file, 1, "no rows under the header");
  std::vector<std::string> cols;
  for (const auto& c : records[0].second) cols.push_back(trim(c));
  auto has = [&](const std::string& c) { return std::find(cols.begin(), cols.end(), c) != cols.end(); };
  auto pick = [&](std::string& chosen, std::initializer_list<const char*> candidates) {
    if (!chosen.empty()) return;
    for (const char* c : candidates)
      if (has(c)) {
        chosen = c;
        return;
      }
  };
  pick(codeColumn, {"original_code", "CODE_CULTURE", "CODE_CULTU", "SNAR_CODE", "code"});
  pick(nameColumn, {"original_name", "LIBELLE_CULTURE", "SNAR_BEZEICHNUNG", "name"});
  pick(classColumn, {"HCAT3_name", "HCAT2_name", "LIBELLE_GROUPE_CULTURE", "class"});
  std::string all;
  for (const auto& c : cols) all += (all.empty() ? "" : ", ") + c;
  auto index = [&](const std::string& c, const char* what) -> int {
    if (c.empty()) tableError(file, 1, std::string("no ") + what + " column found among " + all + "; name it");
    auto it = std::find(cols.begin(), cols.end(), c);
    if (it == cols.end()) tableError(file, 1, std::string(what) + " column '" + c + "' is not among " + all);
    return static_cast<int>(it - cols.begin());
  };
  const int ci = index(codeColumn, "code"), ki = index(classColumn, "class");
  const int ni = nameColumn.empty() ? -1 : index(nameColumn, "name");
  t.codeColumn = codeColumn;
  t.nameColumn = nameColumn;
  t.classColumn = classColumn;
  std::map<std::string, size_t> seen;
  for (size_t r = 1; r < records.size(); ++r) {
    const auto& [line, f] = records[r];
    auto at = [&](int i) { return i >= 0 && i < static_cast<int>(f.size()) ? trim(f[static_cast<size_t>(i)]) : ""; };
    Row row{at(ci), at(ni), at(ki), line};
    if (row.code.empty()) {
      ++t.continuations;
      continue;
    }
    if (row.cls.empty()) tableError(file, line, "code '" + row.code + "' has no " + classColumn);
    auto [it, fresh] = seen.emplace(row.code, t.rows.size());
    if (!fresh) {
      if (t.rows[it->second].cls != row.cls)
        tableError(file, line, "code '" + row.code + "' is listed again with another class ('" + row.cls + "', line " +
                                   std::to_string(t.rows[it->second].line) + " says '" + t.rows[it->second].cls + "')");
      continue;
    }
    t.rows.push_back(std::move(row));
  }
  return t;
}

std::string legendFromTable(const CodeTable& table, const std::string& classMapFile, const std::string& name) {
  struct Out {
    std::string name, colour, group;
    std::vector<std::string> codes;
  };
  std::vector<Out> classes;
  std::vector<std::string> groups, ignore;
  std::map<std::string, size_t> byTableClass;  // table class -> output class
  std::map<std::string, size_t> byCode;        // explicit codes -> output class
  std::set<std::string> tableClasses, tableCodes;
  for (const auto& r : table.rows) {
    tableClasses.insert(r.cls);
    tableCodes.insert(r.code);
  }
  bool ignoreUnmapped = true;
  std::string legendName = name;
  std::vector<std::pair<std::string, std::string>> extraIgnore;  // codes newer than the table, with names
  if (classMapFile.empty()) {
    for (const auto& r : table.rows)
      if (!byTableClass.count(r.cls)) {
        byTableClass[r.cls] = classes.size();
        classes.push_back({r.cls, colourFor(classes.size()), "", {}});
      }
  } else {
    YAML::Node m;
    try {
      m = YAML::LoadFile(classMapFile);
    } catch (const YAML::Exception& e) {
      throw std::invalid_argument(classMapFile + ": class map: " + e.what());
    }
    const auto cls = m["classes"];
    if (!cls || !cls.IsSequence() || cls.size() == 0) bad(classMapFile, m, "class map: 'classes' must be a non-empty list");
    if (legendName.empty() && m["name"]) legendName = m["name"].Scalar();
    if (m["ignore_unmapped"]) ignoreUnmapped = m["ignore_unmapped"].as<bool>();
    if (const auto g = m["groups"])
      for (const auto& e : g) groups.push_back(e["name"].Scalar());
    for (const auto& e : cls) {
      if (!e["name"]) bad(classMapFile, e, "class map: a class needs a name");
      Out o{e["name"].Scalar(), e["colour"] ? e["colour"].Scalar() : colourFor(classes.size()),
            e["group"] ? e["group"].Scalar() : "", {}};
      for (const auto& f : e["from"]) {
        if (!tableClasses.count(f.Scalar()))
          bad(classMapFile, f, "class map: '" + f.Scalar() + "' is no " + table.classColumn + " of " + table.file);
        if (byTableClass.count(f.Scalar())) bad(classMapFile, f, "class map: '" + f.Scalar() + "' is taken twice");
        byTableClass[f.Scalar()] = classes.size();
      }
      for (const auto& c : e["codes"]) {
        if (!tableCodes.count(c.Scalar()))
          bad(classMapFile, c, "class map: code '" + c.Scalar() + "' is not in " + table.file);
        if (byCode.count(c.Scalar())) bad(classMapFile, c, "class map: code '" + c.Scalar() + "' is taken twice");
        byCode[c.Scalar()] = classes.size();
      }
      classes.push_back(std::move(o));
    }
    if (const auto x = m["extra_ignore"]) {
      if (!x.IsMap()) bad(classMapFile, x, "class map: 'extra_ignore' must map codes to names");
      for (auto it = x.begin(); it != x.end(); ++it) {
        if (tableCodes.count(it->first.Scalar()))
          bad(classMapFile, it->first, "class map: code '" + it->first.Scalar() + "' is in " + table.file +
                                           "; ignore it with ignore_codes");
        extraIgnore.emplace_back(it->first.Scalar(), it->second.Scalar());
      }
    }
    for (const auto& c : m["ignore_codes"]) {
      if (!tableCodes.count(c.Scalar()))
        bad(classMapFile, c, "class map: code '" + c.Scalar() + "' is not in " + table.file);
      byCode[c.Scalar()] = SIZE_MAX;
    }
  }
  std::map<std::string, std::int64_t> ignoredByClass;
  for (const auto& r : table.rows) {
    auto c = byCode.find(r.code);
    size_t k = SIZE_MAX;
    if (c != byCode.end()) k = c->second;
    else if (auto t = byTableClass.find(r.cls); t != byTableClass.end()) k = t->second;
    if (k != SIZE_MAX) {
      classes[k].codes.push_back(r.code);
    } else if (ignoreUnmapped || c != byCode.end()) {
      ignore.push_back(r.code);
      ++ignoredByClass[r.cls];
    }
  }
  for (const auto& [code, codeName] : extraIgnore) ignore.push_back(code);
  for (const auto& c : classes)
    if (c.codes.empty()) throw std::invalid_argument(classMapFile + ": class map: class '" + c.name + "' receives no code of " + table.file);

  std::ostringstream y;
  y << "# Built by `cropmap legend --from-csv` from the code table below; rebuild it rather than edit it.\n"
    << "# Table classes left out (codes in `ignore`):";
  if (ignoredByClass.empty()) y << " none";
  for (const auto& [c, n] : ignoredByClass) y << "\n#   " << c << " (" << n << " codes)";
  y << "\nname: " << q(legendName.empty() ? "legend" : legendName) << "\nsource:\n  table: "
    << q(std::filesystem::path(table.file).filename().string()) << "\n  table_fnv1a: " << q(hex64(table.fnv1a))
    << "\n  code_column: " << q(table.codeColumn) << "\n  class_column: " << q(table.classColumn)
    << "\n  codes: " << table.rows.size();
  if (!classMapFile.empty()) y << "\n  class_map: " << q(std::filesystem::path(classMapFile).filename().string());
  if (!extraIgnore.empty()) y << "\n  extra_ignore: " << extraIgnore.size() << "  # codes of later registers, from the class map";
  y << "\n";
  if (!groups.empty()) {
    y << "groups:\n";
    for (size_t i = 0; i < groups.size(); ++i) y << "  - {id: " << i << ", name: " << q(groups[i]) << "}\n";
  }
  y << "classes:\n";
  for (size_t i = 0; i < classes.size(); ++i) {
    y << "  - {id: " << i << ", name: " << q(classes[i].name) << ", colour: " << q(classes[i].colour);
    if (!classes[i].group.empty()) y << ", group: " << q(classes[i].group);
    y << ",\n     codes: [";
    for (size_t k = 0; k < classes[i].codes.size(); ++k) y << (k ? ", " : "") << q(classes[i].codes[k]);
    y << "]}\n";
  }
  y << "ignore: [";
  for (size_t k = 0; k < ignore.size(); ++k) y << (k ? ", " : "") << q(ignore[k]);
  y << "]\ncode_names:\n";
  for (const auto& r : table.rows) y << "  " << q(r.code) << ": " << q(r.name.empty() ? r.cls : r.name) << "\n";
  for (const auto& [code, codeName] : extraIgnore) y << "  " << q(code) << ": " << q(codeName) << "\n";
  // The result must load as a legend: the same checks as any legend file.
  Legend::parse(y.str(), "legend built from " + table.file);
  return y.str();
}

}  // namespace cropmap

namespace cropmap {

Legend loadLegend(const LabelsSection& labels) {
  return Legend::load(labels.legend).withChanges(labels.merge_classes, labels.drop_classes);
}

}  // namespace cropmap
