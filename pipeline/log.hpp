// Rank-tagged logging: "[rank 1] composite tile 33UVP block (2,5): ...".
// Info and debug lines come from rank 0 unless log.all_ranks is set; warnings
// and errors print from every rank. Everything goes to stderr so that stdout
// stays machine-readable (config dumps, tables, JSON).
#pragma once

#include <sstream>
#include <string>

namespace cropmap::log {

enum class Level { debug = 0, info = 1, warn = 2, error = 3 };

Level parseLevel(const std::string& name);  // throws std::invalid_argument
void configure(int rank, Level level, bool allRanks);
bool enabled(Level level);
void write(Level level, const std::string& message);

template <class... Args>
std::string concat(Args&&... args) {
  std::ostringstream os;
  (os << ... << args);
  return os.str();
}
template <class... Args>
void debug(Args&&... a) {
  if (enabled(Level::debug)) write(Level::debug, concat(a...));
}
template <class... Args>
void info(Args&&... a) {
  if (enabled(Level::info)) write(Level::info, concat(a...));
}
template <class... Args>
void warn(Args&&... a) {
  if (enabled(Level::warn)) write(Level::warn, concat(a...));
}
template <class... Args>
void error(Args&&... a) {
  if (enabled(Level::error)) write(Level::error, concat(a...));
}

}  // namespace cropmap::log
