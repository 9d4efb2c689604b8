#include "run_lock.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <map>
#include <iterator>
#include <sstream>
#include <vector>

#include "log.hpp"
#include "mpi.hpp"

namespace fs = std::filesystem;

namespace cropmap {

namespace {

std::string hostName() {
  char buf[256] = {0};
  gethostname(buf, sizeof buf - 1);
  return buf;
}

// The start time of a process (field 22 of /proc/<pid>/stat, clock ticks since
// boot) and whether it is a zombie: a pid alone may be reused, and a killed
// holder may linger unreaped for a moment. Empty when the process does not exist.
struct ProcessState {
  std::string start;
  bool zombie = false;
};
ProcessState processState(long pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const auto close = text.rfind(')');  // the command name may hold spaces and parentheses
  if (close == std::string::npos) return {};
  std::istringstream rest(text.substr(close + 2));
  std::vector<std::string> f;
  for (std::string v; rest >> v;) f.push_back(v);
  // rest starts at field 3 (state); field 22 (starttime) is f[19].
  if (f.size() < 20) return {};
  return {f[19], f[0] == "Z" || f[0] == "X"};
}

std::string holderText(const std::string& command) {
  const char* job = std::getenv("SLURM_JOB_ID");
  char when[64];
  const std::time_t now = std::time(nullptr);
  std::strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", std::gmtime(&now));
  std::ostringstream os;
  os << "host " << hostName() << "\npid " << getpid() << "\npid_start " << processState(getpid()).start << "\njob " << (job ? job : "") << "\ncommand " << command
     << "\nsince " << when << "\n";
  return os.str();
}

std::map<std::string, std::string> fields(const std::string& text) {
  std::map<std::string, std::string> f;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    const auto sp = line.find(' ');
    if (sp != std::string::npos) f[line.substr(0, sp)] = line.substr(sp + 1);
  }
  return f;
}

std::string readAll(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Why a lock is stale, or "" when its holder may be alive.
std::string staleness(const std::string& path, const std::string& text) {
  const auto f = fields(text);
  // Slurm requeues a job under its id after ending every process of the earlier
  // start, possibly on another node: that start's lock is stale at once.
  const char* job = std::getenv("SLURM_JOB_ID");
  const char* restarts = std::getenv("SLURM_RESTART_COUNT");
  if (job && *job && restarts && std::atol(restarts) > 0 && f.count("job") && f.at("job") == job &&
      !(f.count("host") && f.at("host") == hostName() && f.count("pid") && std::atol(f.at("pid").c_str()) == getpid()))
    return "it was taken by an earlier start of this requeued Slurm job";
  if (f.count("host") && f.at("host") == hostName() && f.count("pid")) {
    const long pid = std::atol(f.at("pid").c_str());
    if (pid > 0 && kill(static_cast<pid_t>(pid), 0) != 0 && errno == ESRCH) return "its process is gone";
    if (pid > 0 && std::filesystem::exists("/proc/self/stat")) {
      const ProcessState now = processState(pid);
      if (now.start.empty() || now.zombie) return "its process is gone";
      if (f.count("pid_start") && !f.at("pid_start").empty() && f.at("pid_start") != now.start)
        return "its process is gone (pid " + std::to_string(pid) + " is another process now)";
    }
  }
  struct stat st {};
  if (stat(path.c_str(), &st) == 0) {
    const double age = std::difftime(std::time(nullptr), st.st_mtime);
    if (age > RunLock::kStaleSeconds)
      return "it was not renewed for " + std::to_string(static_cast<long>(age)) + " s";
  }
  return "";
}

// 0: taken; otherwise the errno of the exclusive create.
int tryCreate(const std::string& path, const std::string& text) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL, 0644);
  if (fd < 0) return errno;
  const ssize_t n = ::write(fd, text.data(), text.size());
  const int err = n == static_cast<ssize_t>(text.size()) ? 0 : (n < 0 ? errno : EIO);
  ::close(fd);
  if (err) {
    ::unlink(path.c_str());
    return err;
  }
  return 0;
}

}  // namespace

std::string RunLock::lockPath(const std::string& directory) { return (fs::path(directory) / ".cropmap.lock").string(); }

std::string RunLock::describe(const std::string& text) {
  const auto f = fields(text);
  auto get = [&](const char* k) { return f.count(k) ? f.at(k) : std::string("?"); };
  std::string s = "host " + get("host") + " pid " + get("pid");
  if (f.count("job") && !f.at("job").empty()) s += " (Slurm job " + f.at("job") + ")";
  return s + ", `" + get("command") + "`, since " + get("since");
}

RunLock::RunLock(std::string path) : path_(std::move(path)) {
  if (path_.empty()) return;  // ranks other than 0 hold the lock through rank 0
  // Renew the lock while the job lives: a job that dies stops renewing it.
  heartbeat_ = std::thread([this] {
    while (!stopping_) {
      for (int i = 0; i < kHeartbeatSeconds * 10 && !stopping_; ++i)
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
      if (!stopping_) utimensat(AT_FDCWD, path_.c_str(), nullptr, 0);
    }
  });
}

RunLock::~RunLock() {
  stopping_ = true;
  if (heartbeat_.joinable()) heartbeat_.join();
  if (!path_.empty()) ::unlink(path_.c_str());
}

namespace {

// Rank 0: takes the lock file `path` by exclusive create, taking over a stale
// one. Returns "" when taken, otherwise why not; `busy` says what a live holder
// keeps in use.
std::string take(const std::string& path, const std::string& mine, const std::string& busy) {
  for (int attempt = 0; attempt < 2; ++attempt) {
    const int err = tryCreate(path, mine);
    if (err == 0) return "";
    if (err != EEXIST) return path + ": cannot create the lock: " + std::strerror(err);
    const std::string holder = readAll(path);
    const std::string why = staleness(path, holder);
    if (why.empty())
      return busy + " is in use by another cropmap job: " + RunLock::describe(holder) +
             ". Wait for it to end, or give this run another run.output. (If that job is certainly dead, remove " +
             path + ".)";
    log::warn("lock ", path, ": taking over a stale lock (", why, ") of ", RunLock::describe(holder));
    ::unlink(path.c_str());
  }
  return path + ": another job took the lock at the same moment";
}

// Rank 0, holding the run lock: why a live array task keeps the run in use, or "".
std::string liveUnit(const std::string& directory) {
  std::error_code ec;
  const fs::path units = fs::path(directory) / ".cropmap.units";
  for (fs::directory_iterator it(units, ec), end; !ec && it != end; it.increment(ec)) {
    if (it->path().extension() != ".lock") continue;
    const std::string path = it->path().string();
    const std::string holder = readAll(path);
    const std::string why = staleness(path, holder);
    if (why.empty())
      return directory + " is in use by a task of a job array (" + it->path().stem().string() +
             "): " + RunLock::describe(holder) + ". Wait for the array to end (or cancel it). (If that job is certainly dead, remove " + path + ".)";
    log::warn("lock ", path, ": removing a stale unit lock (", why, ") of ", RunLock::describe(holder));
    ::unlink(path.c_str());
  }
  return "";
}

}  // namespace

std::string RunLock::unitLockPath(const std::string& directory, const std::string& unit) {
  return (fs::path(directory) / ".cropmap.units" / (unit + ".lock")).string();
}

std::unique_ptr<RunLock> RunLock::acquire(const std::string& directory, const std::string& command,
                                          const Comm& comm) {
  const std::string path = lockPath(directory);
  std::string refusal;
  if (comm.root()) {
    std::error_code ec;
    fs::create_directories(directory, ec);
    refusal = take(path, holderText(command), directory);
    if (refusal.empty()) {
      refusal = liveUnit(directory);
      if (!refusal.empty()) ::unlink(path.c_str());
    }
  }
  refusal = comm.bcast(refusal, "run lock");
  if (!refusal.empty()) throw UsageError(refusal);
  return std::unique_ptr<RunLock>(new RunLock(comm.root() ? path : std::string()));
}

std::unique_ptr<RunLock> RunLock::acquireUnit(const std::string& directory, const std::string& unit,
                                              const std::string& command, const Comm& comm) {
  const std::string path = unitLockPath(directory, unit);
  std::string refusal;
  if (comm.root()) {
    std::error_code ec;
    fs::create_directories(fs::path(path).parent_path(), ec);
    refusal = take(path, holderText(command), directory + " (" + unit + ")");
    if (refusal.empty()) {
      // The run lock is taken over by its next taker when stale; only a live one refuses.
      const std::string runLock = lockPath(directory);
      const std::string holder = readAll(runLock);
      if (fs::exists(runLock) && staleness(runLock, holder).empty()) {
        refusal = directory + " is in use by another cropmap job: " + describe(holder) +
                  "; a task of a job array shares a run only with the other tasks. Wait for that job to end.";
        ::unlink(path.c_str());
      }
    }
  }
  refusal = comm.bcast(refusal, "unit lock");
  if (!refusal.empty()) throw UsageError(refusal);
  return std::unique_ptr<RunLock>(new RunLock(comm.root() ? path : std::string()));
}

}  // namespace cropmap
