// The thin MPI side of the scheduler: where a rank gets its next work unit,
// and the gathered load report.
//
// Static mode walks the rank's LPT share. Dynamic mode hands out units from a
// shared list through a single counter in an MPI window: each rank takes the
// next index with MPI_Fetch_and_op under a shared passive-target lock, so no
// rank acts as a master and a slow rank never holds others up. Every rank must
// create and destroy the source together (window creation is collective).
#pragma once

#include <mpi.h>

#include <memory>
#include <optional>

#include "work_units.hpp"

namespace cropmap {

class UnitSource {
 public:
  virtual ~UnitSource() = default;
  // The next unit for this rank, or nothing when all are handed out.
  virtual std::optional<WorkUnit> next() = 0;
};

// `pending` must be the same list on every rank.
std::unique_ptr<UnitSource> makeStaticSource(const std::vector<WorkUnit>& pending, MPI_Comm comm);
std::unique_ptr<UnitSource> makeDynamicSource(const std::vector<WorkUnit>& pending, MPI_Comm comm);
// "static" or "dynamic".
std::unique_ptr<UnitSource> makeUnitSource(const std::string& mode, const std::vector<WorkUnit>& pending,
                                           MPI_Comm comm);

// Collective: every rank's busy time and unit count, on every rank.
LoadReport gatherLoad(double busySeconds, std::int64_t units, MPI_Comm comm);

}  // namespace cropmap

namespace cropmap {

// A 64-bit counter on rank 0 that any rank adds to or reads without the
// others taking part (passive-target one-sided MPI). Used for the dynamic
// work queue and for global progress. Creation and destruction are collective.
class SharedCounter {
 public:
  explicit SharedCounter(MPI_Comm comm);
  ~SharedCounter();
  SharedCounter(const SharedCounter&) = delete;
  SharedCounter& operator=(const SharedCounter&) = delete;
  // Adds n and returns the value before the addition.
  long long fetchAdd(long long n);
  long long read();

 private:
  MPI_Win win_ = MPI_WIN_NULL;
  long long* value_ = nullptr;
};

}  // namespace cropmap
