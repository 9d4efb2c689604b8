#include "json.hpp"

#include <filesystem>
#include <fstream>
#include <stdexcept>

#include "pipeline/gdal_io.hpp"

namespace cropmap {

std::string json::object(const std::vector<std::pair<std::string, std::string>>& fields) {
  std::string s = "{";
  for (size_t i = 0; i < fields.size(); ++i) s += (i ? ",\n  " : "\n  ") + str(fields[i].first) + ": " + fields[i].second;
  return s + "\n}";
}

void writeTextAtomically(const std::string& path, const std::string& text) {
  const auto parent = std::filesystem::path(path).parent_path();
  if (!parent.empty()) std::filesystem::create_directories(parent);
  const std::string tmp = gdal::temporaryName(path);
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) throw std::runtime_error(tmp + ": cannot create");
    out << text;
    out.flush();
    if (!out) throw std::runtime_error(tmp + ": write failed");
  }
  gdal::commitFile(tmp, path);
}

}  // namespace cropmap
