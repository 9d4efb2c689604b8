#include "progress.hpp"

#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <sstream>

#include "mpi.hpp"

namespace cropmap {

namespace {
double g_interval = 5.0;
int g_terminal = -1;
}  // namespace

void Progress::setInterval(double seconds) { g_interval = seconds; }
void Progress::setTerminal(int mode) { g_terminal = mode; }

Progress::Progress(std::string what, std::int64_t total, std::string unit, bool active)
    : what_(std::move(what)),
      unit_(std::move(unit)),
      total_(total),
      active_(active),
      terminal_(g_terminal < 0 ? isatty(fileno(stderr)) != 0 : g_terminal == 1),
      start_(std::chrono::steady_clock::now()),
      last_(start_) {}

Progress::~Progress() {
  if (active_ && !finished_) finish();
}

void Progress::add(std::int64_t n) { set(done_ + n); }

void Progress::set(std::int64_t done) {
  done_ = done;
  if (active_) maybeReport(false);
}

void Progress::finish() {
  if (!active_ || finished_) return;
  finished_ = true;
  maybeReport(true);
  if (terminal_) std::fputc('\n', stderr);
  std::fflush(stderr);
}

std::string Progress::formatDuration(double s) {
  if (!std::isfinite(s) || s < 0) return "--";
  long t = static_cast<long>(std::lround(s));
  char buf[32];
  if (t >= 3600) std::snprintf(buf, sizeof buf, "%ld:%02ld:%02ld", t / 3600, (t / 60) % 60, t % 60);
  else std::snprintf(buf, sizeof buf, "%ld:%02ld", t / 60, t % 60);
  return buf;
}

std::string Progress::line() const {
  const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  const double rate = elapsed > 0 ? done_ / elapsed : 0.0;
  const double eta = rate > 0 && total_ > 0 ? (total_ - done_) / rate : NAN;
  std::ostringstream os;
  os << "[rank " << worldRank() << "] " << what_ << " ";
  if (terminal_ && total_ > 0) {
    const int width = 24;
    int filled = static_cast<int>(width * static_cast<double>(done_) / total_);
    os << "[" << std::string(std::min(filled, width), '#') << std::string(width - std::min(filled, width), '.') << "] ";
  }
  os << done_ << "/" << total_ << " " << unit_;
  if (total_ > 0) os << " (" << static_cast<int>(100.0 * done_ / total_) << "%)";
  os.setf(std::ios::fixed);
  os.precision(rate >= 10 ? 0 : 2);
  os << ", " << rate << " " << unit_ << "/s, elapsed " << formatDuration(elapsed);
  if (done_ < total_) os << ", ETA " << formatDuration(eta);
  return os.str();
}

void Progress::maybeReport(bool force) {
  const auto now = std::chrono::steady_clock::now();
  const double since = std::chrono::duration<double>(now - last_).count();
  if (terminal_) {
    if (!force && since < 0.2) return;
    last_ = now;
    std::fprintf(stderr, "\r%s\x1b[K", line().c_str());
  } else {
    if (!force && since < g_interval) return;
    last_ = now;
    std::fprintf(stderr, "%s\n", line().c_str());
  }
  std::fflush(stderr);
}

}  // namespace cropmap
