#include "mpi_scheduler.hpp"

#include <stdexcept>

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
  DynamicSource(const std::vector<WorkUnit>& pending, MPI_Comm comm) : order_(dynamicOrder(pending)) {
    int rank = 0;
    CROPMAP_MPI(MPI_Comm_rank(comm, &rank));
    // The counter lives on rank 0, which works like every other rank.
    const MPI_Aint bytes = rank == 0 ? static_cast<MPI_Aint>(sizeof(long long)) : 0;
    CROPMAP_MPI(MPI_Win_allocate(bytes, sizeof(long long), MPI_INFO_NULL, comm, &counter_, &win_));
    if (rank == 0) *counter_ = 0;
    // Nobody fetches before the counter is initialised.
    CROPMAP_MPI(MPI_Win_fence(0, win_));
    CROPMAP_MPI(MPI_Win_lock_all(MPI_MODE_NOCHECK, win_));
  }
  ~DynamicSource() override {
    MPI_Win_unlock_all(win_);
    MPI_Win_free(&win_);  // collective: every rank leaves its loop before this
  }
  std::optional<WorkUnit> next() override {
    if (exhausted_) return std::nullopt;
    const long long one = 1;
    long long taken = 0;
    CROPMAP_MPI(MPI_Fetch_and_op(&one, &taken, MPI_LONG_LONG, 0, 0, MPI_SUM, win_));
    CROPMAP_MPI(MPI_Win_flush(0, win_));
    if (taken >= static_cast<long long>(order_.size())) {
      exhausted_ = true;
      return std::nullopt;
    }
    return order_[static_cast<size_t>(taken)];
  }

 private:
  std::vector<WorkUnit> order_;
  MPI_Win win_ = MPI_WIN_NULL;
  long long* counter_ = nullptr;
  bool exhausted_ = false;
};

}  // namespace

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
  return r;
}

}  // namespace cropmap
