// A legend maps a parcel register's crop codes to the classes a model learns.
//
// File format (YAML):
//   name: austria
//   classes:                       # class ids are 0..K-1, in any order
//     - {id: 0, name: grassland, colour: "#4daf4a", codes: [GL, MW], group: grassland}
//   groups:                        # optional coarser level (labels.level: 1)
//     - {id: 0, name: grassland}
//   ignore: [FOREST, ROAD]         # codes deliberately left unlabelled
//   source: {table: ..., ...}      # optional provenance (free form)
//   code_names: {GL: Grünland}     # optional, documentation: the register's name of a code
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace cropmap {

struct LegendClass {
  int id = 0;
  std::string name;
  std::array<std::uint8_t, 3> colour{128, 128, 128};
  std::vector<std::string> codes;
  int group = -1;  // index into Legend::groups, -1 when the legend has no groups
};

struct LegendGroup {
  int id = 0;
  std::string name;
};

struct Legend {
  std::string name;
  std::string file;
  std::vector<LegendClass> classes;  // sorted by id, ids 0..K-1
  std::vector<LegendGroup> groups;   // sorted by id
  std::vector<std::string> ignore;
  std::map<std::string, std::string> codeNames;  // documentation only

  enum : int { kIgnored = -2, kUnknown = -3 };
  // Class id of a register code at a level (0 classes, 1 groups), or kIgnored / kUnknown.
  int classOf(const std::string& code, int level = 0) const;
  int numClasses(int level = 0) const {
    return level == 0 ? static_cast<int>(classes.size()) : static_cast<int>(groups.size());
  }
  std::vector<std::string> classNames(int level = 0) const;
  // This legend with the named classes merged into a class named after their
  // group (added after the others when no class has that name) and the
  // dropped classes' codes ignored; ids renumbered 0..K'-1 in order. Throws
  // std::invalid_argument naming the legend and the class on an unknown name,
  // a merge without groups, or every class removed.
  Legend withChanges(const std::vector<std::string>& merge, const std::vector<std::string>& drop) const;

  // Throws std::runtime_error with "FILE:LINE: ..." on any problem.
  static Legend load(const std::string& file);
  static Legend parse(const std::string& yamlText, const std::string& file);

 private:
  std::map<std::string, int> codeToClass_;
};

// labels.legend with labels.merge_classes and labels.drop_classes applied: the
// legend every stage uses.
struct LabelsSection;
Legend loadLegend(const LabelsSection& labels);

// An official code table: one row per register code, with the code's name and
// the class the table gives it (an RPG crop group, an EuroCrops HCAT class).
// CSV with ',' or ';' (taken from the header line), double quotes, UTF-8 with
// or without a byte-order mark. Rows without a code continue the row above (the
// EuroCrops tables list a second HCAT class of a mixed crop so) and are skipped.
struct CodeTable {
  struct Row {
    std::string code, name, cls;
    int line = 0;
  };
  std::string file, codeColumn, nameColumn, classColumn;
  std::uint64_t fnv1a = 0;  // of the file's bytes, for the legend's provenance
  int continuations = 0;    // rows skipped for an empty code
  std::vector<Row> rows;

  // Empty column names: found from the header (EuroCrops: original_code,
  // original_name, HCAT3_name or HCAT2_name; RPG: CODE_CULTURE,
  // LIBELLE_CULTURE, LIBELLE_GROUPE_CULTURE). Throws UsageError-like
  // std::invalid_argument naming the file and line.
  static CodeTable read(const std::string& file, std::string codeColumn = "", std::string nameColumn = "",
                        std::string classColumn = "");
  // Several countries' tables as one (rows in order; file names joined by " + "),
  // for one cross-country legend: a code in two tables is refused, naming both.
  static CodeTable combine(const std::vector<CodeTable>& tables);
};

// The YAML text of a legend built from a code table. Without a class map every
// class of the table becomes a legend class. A class map (YAML) names the
// legend's classes and says which table classes (`from`) and which codes
// (`codes`, winning over `from`) they take:
//   name: austria-15
//   groups: [{id: 0, name: cereals}]
//   classes:
//     - {name: maize, colour: "#ff7f00", group: cereals, from: [grain_maize_corn_popcorn], codes: ['109']}
//   ignore_unmapped: true          # the table's other codes go to `ignore` (default); false: left unknown
//   ignore_codes: ['661']          # table codes ignored although a `from` class takes them
//   extra_ignore: {'360': GLÖZ HECKE}  # codes the table lacks (later registers), ignored with their names
// Every `from` class and every code must exist in the table. The legend records
// the table's provenance and every code's name.
std::string legendFromTable(const CodeTable& table, const std::string& classMapFile, const std::string& name);

}  // namespace cropmap
