#include "log.hpp"

#include <cstdio>
#include <mutex>
#include <stdexcept>

namespace cropmap::log {

namespace {
int g_rank = 0;
Level g_level = Level::info;
bool g_allRanks = false;
std::mutex g_mutex;
}  // namespace

Level parseLevel(const std::string& name) {
  if (name == "debug") return Level::debug;
  if (name == "info") return Level::info;
  if (name == "warn" || name == "warning") return Level::warn;
  if (name == "error") return Level::error;
  throw std::invalid_argument("log level must be one of debug|info|warn|error, got '" + name + "'");
}

void configure(int rank, Level level, bool allRanks) {
  g_rank = rank;
  g_level = level;
  g_allRanks = allRanks;
}

bool enabled(Level level) {
  if (level < g_level) return false;
  return level >= Level::warn || g_allRanks || g_rank == 0;
}

void write(Level level, const std::string& message) {
  const char* tag = level == Level::warn ? "warning: " : level == Level::error ? "error: " : level == Level::debug ? "debug: " : "";
  std::lock_guard<std::mutex> lock(g_mutex);
  std::fprintf(stderr, "[rank %d] %s%s\n", g_rank, tag, message.c_str());
  std::fflush(stderr);
}

}  // namespace cropmap::log
