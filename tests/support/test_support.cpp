#include "test_support.hpp"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

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

RunResult validateCog(const std::string& path) {
  RunResult r = runCommand(std::string(CROPMAP_PYTHON) +
                           " -m osgeo_utils.samples.validate_cloud_optimized_geotiff --full-check=yes '" + path + "'");
  // Strict: the validator exits 0 on warnings (e.g. a large image without
  // overviews); they count as failures here, and so does any answer other
  // than its verdict.
  if (r.exitCode == 0 && (r.output.find("warnings were found") != std::string::npos ||
                          r.output.find("is a valid cloud optimized GeoTIFF") == std::string::npos))
    r.exitCode = 1;
  return r;
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

int startInSession(const std::string& commandLine, const std::string& logFile) {
  const pid_t pid = fork();
  if (pid < 0) throw std::runtime_error("fork failed");
  if (pid == 0) {
    setsid();
    const std::string full = commandLine + " > '" + logFile + "' 2>&1";
    execl("/bin/sh", "sh", "-c", full.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  return pid;
}

void signalSession(int sid, int signal, const std::string& name) {
  namespace fs = std::filesystem;
  for (const auto& e : fs::directory_iterator("/proc")) {
    const std::string pid = e.path().filename().string();
    if (pid.find_first_not_of("0123456789") != std::string::npos) continue;
    std::string stat;
    try {
      stat = readFile(e.path().string() + "/stat");
    } catch (const std::exception&) {
      continue;  // exited meanwhile
    }
    // pid (comm) state ppid pgrp session ...; comm may hold spaces.
    const auto open = stat.find('('), close = stat.rfind(')');
    if (open == std::string::npos || close == std::string::npos) continue;
    const std::string comm = stat.substr(open + 1, close - open - 1);
    char state = 0;
    long ppid = 0, pgrp = 0, session = 0;
    if (std::sscanf(stat.c_str() + close + 1, " %c %ld %ld %ld", &state, &ppid, &pgrp, &session) == 4 &&
        session == sid && (name.empty() || comm == name))
      kill(static_cast<pid_t>(std::stol(pid)), signal);
  }
}

int waitExit(int pid) {
  int status = 0;
  if (waitpid(pid, &status, 0) != pid) return -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

bool waitUntil(const std::function<bool()>& ready, int seconds) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(seconds);
  while (std::chrono::steady_clock::now() < deadline) {
    if (ready()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return false;
}

size_t countOccurrences(const std::string& hay, const std::string& needle) {
  size_t count = 0;
  for (size_t pos = hay.find(needle); pos != std::string::npos; pos = hay.find(needle, pos + needle.size())) ++count;
  return count;
}

}  // namespace cropmap::test
