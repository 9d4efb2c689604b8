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
// kStaleSeconds, which covers a node that died, or when it names this Slurm
// job and this is a later start of it (a requeued job's earlier start is gone).
// A stale lock is taken over with a warning naming the old holder.
//
// Tasks of a job array share one run directory (`cropmap cv --task I`: each
// trains and scores its own fold into its own directory and only reads the
// samples). Each holds a unit lock, <run.output>/.cropmap.units/<unit>.lock,
// made and renewed like the run lock, instead of the run lock. A unit lock and
// the run lock exclude each other: the run lock's taker refuses while a live
// unit lock exists, and a unit lock's taker refuses while the run lock is held.
// Each side creates its own file first and then looks for the other's, so of
// two jobs starting at the same moment at least one sees the other.
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
  // Also refuses while a task of a job array holds a unit lock there.
  static std::unique_ptr<RunLock> acquire(const std::string& directory, const std::string& command, const Comm& comm);
  // Collective: rank 0 takes the unit lock `unit` (a file name: letters, digits,
  // '.', '-', '_') of the run in `directory`; throws UsageError on every rank
  // when a live job holds that unit or the run lock.
  static std::unique_ptr<RunLock> acquireUnit(const std::string& directory, const std::string& unit,
                                              const std::string& command, const Comm& comm);
  ~RunLock();  // rank 0 removes the lock file
  RunLock(const RunLock&) = delete;
  RunLock& operator=(const RunLock&) = delete;

  static std::string lockPath(const std::string& directory);
  static std::string unitLockPath(const std::string& directory, const std::string& unit);
  // The holder's description in a lock file ("host n1 pid 4242 (Slurm job 77), cropmap run, since ...").
  static std::string describe(const std::string& lockText);

 private:
  explicit RunLock(std::string path);
  std::string path_;
  std::atomic<bool> stopping_{false};
  std::thread heartbeat_;
};

}  // namespace cropmap
