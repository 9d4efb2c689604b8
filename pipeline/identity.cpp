#include "identity.hpp"

#include <glob.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>

namespace fs = std::filesystem;

namespace cropmap {

std::uint64_t fnv1a(const std::string& text) {
  std::uint64_t h = 1469598103934665603ULL;
  for (unsigned char ch : text) h = (h ^ ch) * 1099511628211ULL;
  return h;
}

std::string hex64(std::uint64_t value) {
  char buf[17];
  std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(value));
  return buf;
}

std::string fileIdentity(const std::string& path) {
  std::error_code ec;
  const std::string abs = fs::absolute(path, ec).string();
  const auto size = fs::file_size(path, ec);
  if (ec) return abs + " missing";
  const auto time = fs::last_write_time(path, ec).time_since_epoch().count();
  return abs + " size " + std::to_string(size) + " mtime " + std::to_string(time);
}

std::string filesIdentity(const std::vector<std::string>& paths) {
  std::vector<std::string> lines;
  for (const auto& entry : paths) {
    if (entry.empty()) continue;
    std::vector<std::string> expanded;
    if (entry.find_first_of("*?[") != std::string::npos) {
      glob_t g{};
      if (::glob(entry.c_str(), 0, nullptr, &g) == 0)
        for (size_t i = 0; i < g.gl_pathc; ++i) expanded.emplace_back(g.gl_pathv[i]);
      globfree(&g);
    } else {
      expanded.push_back(entry);
    }
    for (const auto& e : expanded) {
      std::error_code ec;
      if (!fs::is_directory(e, ec)) {
        lines.push_back(fileIdentity(e));
        continue;
      }
      for (fs::recursive_directory_iterator it(e, fs::directory_options::skip_permission_denied, ec), end;
           !ec && it != end; it.increment(ec))
        if (it->is_regular_file(ec)) lines.push_back(fileIdentity(it->path().string()));
    }
  }
  std::sort(lines.begin(), lines.end());
  std::string text;
  for (const auto& l : lines) text += l + "\n";
  return text;
}

}  // namespace cropmap
