// One job at a time in a run directory.
//
// Two jobs writing into one run.output corrupt each other's cube and record
// stages as done that hold half of each. Every command that writes into
// run.output therefore takes <run.output>/.cropmap.lock first, on rank 0 for
// the whole job, and a second job is refused with the holder's name.
//
// The lock is an exclusive create (O_CREAT | O_EXCL), not flock/fcntl: the
// exclusive create is atomic on local file systems, NFS v3+, Lustre and GPFS,
// whereas POSIX and BSD locks on parallel file systems need mount options
// (Lustre's -o flock) that clusters often leave off, and vanish without a
// trace when a node dies. The file holds the holder: host, pid, Slurm job id,
// command and start time. A lock is stale — left by a job that died — when its
// host is this host and its pid is gone, or when its holder has not renewed it
// (the holder touches it every kHeartbeatSeconds from a thread) for
// kStaleSeconds, which covers a node that died. A stale lock is taken over with
// a warning naming the old holder.
#pragma once

#include <atomic>
#include <memory>
#include <string>
#include <thread>

namespace cropmap {

class Comm;

class RunLock {
 public:
  static constexpr int kHeartbeatSeconds = 30;
  static constexpr int kStaleSeconds = 300;

  // Collective: rank 0 takes the lock of `directory` (creating the directory);
  // throws UsageError on every rank, naming the holder, when another live job
  // holds it.
  static std::unique_ptr<RunLock> acquire(const std::string& directory, const std::string& command, const Comm& comm);
  ~RunLock();  // rank 0 removes the lock file
  RunLock(const RunLock&) = delete;
  RunLock& operator=(const RunLock&) = delete;

  static std::string lockPath(const std::string& directory);
  // The holder's description in a lock file ("host n1 pid 4242 (Slurm job 77), cropmap run, since ...").
  static std::string describe(const std::string& lockText);

 private:
  explicit RunLock(std::string path);
  std::string path_;
  std::atomic<bool> stopping_{false};
  std::thread heartbeat_;
};

}  // namespace cropmap
