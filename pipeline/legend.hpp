// A legend maps a parcel register's crop codes to the classes a model learns.
//
// File format (YAML):
//   name: austria
//   classes:                       # class ids are 0..K-1, in any order
//     - {id: 0, name: grassland, colour: "#4daf4a", codes: [GL, MW], group: grassland}
//   groups:                        # optional coarser level (labels.level: 1)
//     - {id: 0, name: grassland}
//   ignore: [FOREST, ROAD]         # codes deliberately left unlabelled
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

  enum : int { kIgnored = -2, kUnknown = -3 };
  // Class id of a register code at a level (0 classes, 1 groups), or kIgnored / kUnknown.
  int classOf(const std::string& code, int level = 0) const;
  int numClasses(int level = 0) const {
    return level == 0 ? static_cast<int>(classes.size()) : static_cast<int>(groups.size());
  }
  std::vector<std::string> classNames(int level = 0) const;

  // Throws std::runtime_error with "FILE:LINE: ..." on any problem.
  static Legend load(const std::string& file);
  static Legend parse(const std::string& yamlText, const std::string& file);

 private:
  std::map<std::string, int> codeToClass_;
};

}  // namespace cropmap
