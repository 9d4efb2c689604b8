// Helpers shared by the test tiers: running the cropmap binary and scratch dirs.
#pragma once

#include <functional>
#include <string>
#include <vector>

namespace cropmap::test {

struct RunResult {
  int exitCode = -1;
  std::string output;  // stdout and stderr, interleaved
};

// Runs a shell command line, capturing stdout+stderr and the exit code.
RunResult runCommand(const std::string& commandLine);
// Runs the built cropmap binary with the arguments (already shell-quoted as needed).
RunResult runCropmap(const std::string& args);
// Runs cropmap under mpiexec with n ranks.
RunResult runCropmapMpi(int ranks, const std::string& args);

// GDAL's own Cloud-Optimized GeoTIFF check (osgeo_utils, Debian's
// python3-gdal) on `path`, with the full check of tile leaders and trailers;
// warnings count as failures.
// exitCode 0 = valid; output holds the validator's findings.
RunResult validateCog(const std::string& path);

// A fresh, empty directory under the build tree's test scratch space.
std::string scratchDir(const std::string& name);
void writeFile(const std::string& path, const std::string& text);
std::string readFile(const std::string& path);
std::string sourcePath(const std::string& relative);  // path inside the source tree

// Number of non-overlapping occurrences of needle in hay.
size_t countOccurrences(const std::string& hay, const std::string& needle);

// A shell command line started in a session of its own, stdout and stderr to
// `logFile`; returns its pid (= the session id).
int startInSession(const std::string& commandLine, const std::string& logFile);
// Sends `signal` to every process of the session whose command name is `name`
// (every process when empty): mpiexec puts ranks in process groups of their
// own, so signalling the launcher's group would miss them, unlike a
// scheduler's signal to every task.
void signalSession(int sid, int signal, const std::string& name = "");
// Waits for a process started by startInSession; returns its exit code (128 + signal when killed).
int waitExit(int pid);
// Polls `ready` every 50 ms until it holds (true) or `seconds` pass (false).
bool waitUntil(const std::function<bool()>& ready, int seconds);

}  // namespace cropmap::test
