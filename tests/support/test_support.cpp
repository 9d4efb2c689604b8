#include "test_support.hpp"

#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace cropmap::test {

RunResult runCommand(const std::string& commandLine) {
  RunResult r;
  const std::string full = commandLine + " 2>&1";
  FILE* pipe = popen(full.c_str(), "r");
  if (!pipe) throw std::runtime_error("popen failed: " + commandLine);
  std::array<char, 4096> buf{};
  size_t n;
  while ((n = fread(buf.data(), 1, buf.size(), pipe)) > 0) r.output.append(buf.data(), n);
  int status = pclose(pipe);
  r.exitCode = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return r;
}

RunResult runCropmap(const std::string& args) { return runCommand(std::string(CROPMAP_EXE) + " " + args); }

RunResult runCropmapMpi(int ranks, const std::string& args) {
  return runCommand(std::string(CROPMAP_MPIEXEC) + " -n " + std::to_string(ranks) + " " + CROPMAP_EXE + " " + args);
}

std::string scratchDir(const std::string& name) {
  namespace fs = std::filesystem;
  fs::path p = fs::path(CROPMAP_TEST_TMP) / name;
  fs::remove_all(p);
  fs::create_directories(p);
  return p.string();
}

void writeFile(const std::string& path, const std::string& text) {
  std::ofstream out(path);
  if (!out) throw std::runtime_error("cannot write " + path);
  out << text;
}

std::string readFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error("cannot read " + path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string sourcePath(const std::string& relative) { return std::string(CROPMAP_SOURCE_DIR) + "/" + relative; }

size_t countOccurrences(const std::string& hay, const std::string& needle) {
  size_t count = 0;
  for (size_t pos = hay.find(needle); pos != std::string::npos; pos = hay.find(needle, pos + needle.size())) ++count;
  return count;
}

}  // namespace cropmap::test
