#include "mpi_scheduler.hpp"

#include <exception>
#include <stdexcept>

#include "pipeline/memory.hpp"
#include "pipeline/mpi.hpp"

namespace cropmap {

namespace {

class StaticSource : public UnitSource {
 public:
  StaticSource(const std::vector<WorkUnit>& pending, MPI_Comm comm) {
    int rank = 0, size = 1;
    CROPMAP_MPI(MPI_Comm_rank(comm, &rank));
    CROPMAP_MPI(MPI_Comm_size(comm, &size));
    mine_ = assignStatic(pending, size)[static_cast<size_t>(rank)];
  }
  std::optional<WorkUnit> next() override {
    if (pos_ >= mine_.size()) return std::nullopt;
    return mine_[pos_++];
  }

 private:
  std::vector<WorkUnit> mine_;
  size_t pos_ = 0;
};

class DynamicSource : public UnitSource {
 public:
  DynamicSource(const std::vector<WorkUnit>& pending, MPI_Comm comm) : order_(dynamicOrder(pending)), counter_(comm) {}
  std::optional<WorkUnit> next() override {
    if (exhausted_) return std::nullopt;
    const long long taken = counter_.fetchAdd(1);
    if (taken >= static_cast<long long>(order_.size())) {
      exhausted_ = true;
      return std::nullopt;
    }
    return order_[static_cast<size_t>(taken)];
  }

 private:
  std::vector<WorkUnit> order_;
  SharedCounter counter_;
  bool exhausted_ = false;
};

}  // namespace

SharedCounter::SharedCounter(MPI_Comm comm) {
  int rank = 0;
  CROPMAP_MPI(MPI_Comm_rank(comm, &rank));
  // The value lives on rank 0, which works like every other rank: no master.
  const MPI_Aint bytes = rank == 0 ? static_cast<MPI_Aint>(sizeof(long long)) : 0;
  CROPMAP_MPI(MPI_Win_allocate(bytes, sizeof(long long), MPI_INFO_NULL, comm, &value_, &win_));
  if (rank == 0) *value_ = 0;
  // Nobody touches the counter before it is initialised.
  CROPMAP_MPI(MPI_Win_fence(0, win_));
  CROPMAP_MPI(MPI_Win_lock_all(MPI_MODE_NOCHECK, win_));
}

SharedCounter::~SharedCounter() {
  // Freeing the window is collective: not while an exception unwinds on this
  // rank alone (the job is aborted next; see abortJob).
  if (std::uncaught_exceptions() > 0) return;
  MPI_Win_unlock_all(win_);
  MPI_Win_free(&win_);
}

long long SharedCounter::fetchAdd(long long n) {
  long long before = 0;
  CROPMAP_MPI(MPI_Fetch_and_op(&n, &before, MPI_LONG_LONG, 0, 0, MPI_SUM, win_));
  CROPMAP_MPI(MPI_Win_flush(0, win_));
  return before;
}

long long SharedCounter::read() {
  long long v = 0, dummy = 0;
  CROPMAP_MPI(MPI_Fetch_and_op(&dummy, &v, MPI_LONG_LONG, 0, 0, MPI_NO_OP, win_));
  CROPMAP_MPI(MPI_Win_flush(0, win_));
  return v;
}

std::unique_ptr<UnitSource> makeStaticSource(const std::vector<WorkUnit>& pending, MPI_Comm comm) {
  return std::make_unique<StaticSource>(pending, comm);
}

std::unique_ptr<UnitSource> makeDynamicSource(const std::vector<WorkUnit>& pending, MPI_Comm comm) {
  return std::make_unique<DynamicSource>(pending, comm);
}

std::unique_ptr<UnitSource> makeUnitSource(const std::string& mode, const std::vector<WorkUnit>& pending,
                                           MPI_Comm comm) {
  if (mode == "static") return makeStaticSource(pending, comm);
  if (mode == "dynamic") return makeDynamicSource(pending, comm);
  throw std::invalid_argument("unknown scheduler mode '" + mode + "' (static|dynamic)");
}

LoadReport gatherLoad(double busySeconds, std::int64_t units, MPI_Comm comm) {
  int size = 1;
  CROPMAP_MPI(MPI_Comm_size(comm, &size));
  LoadReport r;
  r.busy.resize(static_cast<size_t>(size));
  r.units.resize(static_cast<size_t>(size));
  long long u = units;
  std::vector<long long> all(static_cast<size_t>(size));
  CROPMAP_MPI(MPI_Allgather(&busySeconds, 1, MPI_DOUBLE, r.busy.data(), 1, MPI_DOUBLE, comm));
  CROPMAP_MPI(MPI_Allgather(&u, 1, MPI_LONG_LONG, all.data(), 1, MPI_LONG_LONG, comm));
  for (size_t i = 0; i < all.size(); ++i) r.units[i] = all[i];
  const ProcessUsage usage = ProcessUsage::now();
  const long long mine[3] = {usage.peakRssBytes, usage.readBytes, usage.writtenBytes};
  std::vector<long long> each(3 * static_cast<size_t>(size));
  CROPMAP_MPI(MPI_Allgather(mine, 3, MPI_LONG_LONG, each.data(), 3, MPI_LONG_LONG, comm));
  for (size_t i = 0; i < static_cast<size_t>(size); ++i) {
    r.peakRss.push_back(each[3 * i]);
    r.readBytes.push_back(each[3 * i + 1]);
    r.writtenBytes.push_back(each[3 * i + 2]);
  }
  return r;
}

}  // namespace cropmap
