// Progress of a long stage: done/total, rate and ETA. On a terminal a live bar
// redrawn in place; otherwise (a Slurm log) one line every few seconds, so logs
// stay readable. Only the rank that owns the reporter prints (normally rank 0).
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace cropmap {

class Progress {
 public:
  // `active` false makes every call a no-op (ranks other than 0).
  Progress(std::string what, std::int64_t total, std::string unit = "units", bool active = true);
  ~Progress();

  void add(std::int64_t n = 1);
  void set(std::int64_t done);
  void finish();

  // Seconds between lines in non-terminal mode (from log.progress_interval).
  static void setInterval(double seconds);
  // Force the terminal/non-terminal mode (tests); default detects isatty(stderr).
  static void setTerminal(int mode);  // -1 detect, 0 no, 1 yes

  // "1:02:03" / "2:03"; "--" for unknown.
  static std::string formatDuration(double seconds);
  // The text of one report (without the terminal's carriage return).
  std::string line() const;

 private:
  void maybeReport(bool force);
  std::string what_, unit_;
  std::int64_t total_, done_ = 0;
  bool active_, terminal_, finished_ = false;
  std::chrono::steady_clock::time_point start_, last_;
};

}  // namespace cropmap
