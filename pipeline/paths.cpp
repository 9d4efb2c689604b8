#include "paths.hpp"

#include <sys/statvfs.h>

#include <cctype>
#include <cerrno>
#include <cstring>
#include <filesystem>

#include "registry.hpp"

namespace fs = std::filesystem;

namespace cropmap {

std::string cubePath(const Config& c) { return (fs::path(c.run.output) / "cube.h5").string(); }

std::string samplesPath(const Config& c) {
  return c.train.samples.empty() ? (fs::path(c.run.output) / c.sample.output).string() : c.train.samples;
}

std::string trainOutputDir(const Config& c) { return (fs::path(c.run.output) / c.train.output).string(); }
std::string foldOutputDir(const Config& c, int fold) {
  return fold < 0 ? trainOutputDir(c) : (fs::path(trainOutputDir(c)) / ("fold-" + std::to_string(fold))).string();
}

std::string modelPath(const Config& c) {
  return (fs::path(trainOutputDir(c)) / modelKind(c.train.model).modelFile).string();
}

std::string writeFailure(const std::string& path, int err) {
  fs::path dir = fs::path(path).parent_path();
  if (dir.empty()) dir = ".";
  struct statvfs st {};
  const bool full = statvfs(dir.c_str(), &st) == 0 && st.f_bavail * st.f_frsize < 64 * 1024;
  if (err == ENOSPC || full) {
    const unsigned long long freeBytes = statvfs(dir.c_str(), &st) == 0 ? st.f_bavail * st.f_frsize : 0;
    return "no space left on device (" + std::to_string(freeBytes) + " bytes free on the file system of " +
           dir.string() + "); free space or point run.output elsewhere, then rerun with --resume";
  }
  return err ? std::strerror(err) : "write failed";
}

int removeStaleTemporaries(const std::string& directory) {
  std::error_code ec;
  if (!fs::is_directory(directory, ec)) return 0;
  std::vector<fs::path> stale;
  for (fs::recursive_directory_iterator it(directory, fs::directory_options::skip_permission_denied, ec), end;
       !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (name.rfind(".tmp-", 0) == 0 && name.size() > 5 && std::isdigit(static_cast<unsigned char>(name[5]))) {
      stale.push_back(it->path());
      if (it->is_directory(ec)) it.disable_recursion_pending();
    }
  }
  int n = 0;
  for (const auto& p : stale) n += fs::remove_all(p, ec) > 0;
  return n;
}

}  // namespace cropmap
