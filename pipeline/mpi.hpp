// MPI lifetime and error handling.
//
// cropmap initialises MPI only if nobody did and finalises only what it
// initialised, so the same binary runs as a singleton, under mpirun and srun,
// and inside a host program that owns MPI. A fatal error on one rank prints its
// message once, tagged with the rank, and aborts the whole job instead of
// leaving the other ranks hanging in a collective.
#pragma once

#include <mpi.h>

#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

namespace cropmap {

class MpiRuntime {
 public:
  MpiRuntime(int* argc, char*** argv);
  ~MpiRuntime();
  MpiRuntime(const MpiRuntime&) = delete;
  MpiRuntime& operator=(const MpiRuntime&) = delete;

  int rank() const { return rank_; }
  int size() const { return size_; }
  MPI_Comm comm() const { return MPI_COMM_WORLD; }
  bool ownsMpi() const { return initialisedHere_; }

 private:
  bool initialisedHere_ = false;
  int rank_ = 0;
  int size_ = 1;
};

// Rank of this process in MPI_COMM_WORLD; 0 before MPI_Init or without MPI.
int worldRank();
int worldSize();

// Throws std::runtime_error "MPI error in CALL at FILE:LINE: text" unless rc == MPI_SUCCESS.
void checkMpi(int rc, const char* call, const char* file, int line);
#define CROPMAP_MPI(call) ::cropmap::checkMpi((call), #call, __FILE__, __LINE__)

// Every rank's values concatenated in rank order (MPI_Allgatherv), on every rank.
std::string allgatherv(const std::string& mine, MPI_Comm comm);
std::vector<std::int64_t> allgatherv(const std::vector<std::int64_t>& mine, MPI_Comm comm);

// Print "[rank R] error: MESSAGE" to stderr and end the job with `code`:
// MPI_Abort when MPI is running with more than one rank, exit otherwise.
[[noreturn]] void abortJob(const std::string& message, int code = 1);

// An error whose fix is in the user's hands (bad flag, bad input path): exit code 2.
class UsageError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

}  // namespace cropmap
