// The mpi and serial backends, the backend table and allreduceMean.
#include "allreduce.hpp"

#include <ATen/ATen.h>
#include <torch/cuda.h>
#include <torch/version.h>

#ifdef CROPMAP_WITH_NCCL
#include <nccl.h>
#endif

#include <algorithm>
#include <climits>
#include <sstream>

#include "pipeline/mpi.hpp"

namespace cropmap {

namespace {

MPI_Datatype mpiTypeOf(const at::Tensor& t) {
  switch (t.scalar_type()) {
    case at::kFloat: return MPI_FLOAT;
    case at::kDouble: return MPI_DOUBLE;
    default:
      throw std::invalid_argument("allreduce: only float32 and float64 tensors can be averaged, got " +
                                  std::string(c10::toString(t.scalar_type())));
  }
}

void requireCpuContiguous(const at::Tensor& t, const char* backend) {
  if (!t.defined()) throw std::invalid_argument(std::string(backend) + " backend: undefined tensor");
  if (!t.device().is_cpu())
    throw std::invalid_argument(std::string(backend) + " backend: tensors must live on the CPU (use nccl for GPUs)");
  if (!t.is_contiguous()) throw std::invalid_argument(std::string(backend) + " backend: tensors must be contiguous");
}

// One communicator of our own, so training traffic never matches messages of
// anything else running on the same ranks.
class DupComm {
 public:
  explicit DupComm(MPI_Comm parent) {
    CROPMAP_MPI(MPI_Comm_dup(parent, &comm_));
    CROPMAP_MPI(MPI_Comm_set_errhandler(comm_, MPI_ERRORS_RETURN));
    CROPMAP_MPI(MPI_Comm_rank(comm_, &rank_));
    CROPMAP_MPI(MPI_Comm_size(comm_, &size_));
  }
  ~DupComm() {
    int finalised = 0;
    MPI_Finalized(&finalised);
    if (!finalised && comm_ != MPI_COMM_NULL) MPI_Comm_free(&comm_);
  }
  MPI_Comm get() const { return comm_; }
  int rank() const { return rank_; }
  int size() const { return size_; }

 private:
  MPI_Comm comm_ = MPI_COMM_NULL;
  int rank_ = 0, size_ = 1;
};

// Sums go straight from and to the caller's memory (MPI_IN_PLACE): the
// GradientReducer hands over slices of its flat gradient buffer, so nothing is
// packed. Blocking sums use MPI_Allreduce, whose tuned algorithms are faster
// than the nonblocking ones; async sums use MPI_Iallreduce.
class MpiBackend final : public AllreduceBackend {
 public:
  explicit MpiBackend(const AllreduceOptions& o) : AllreduceBackend(o), comm_(o.comm) {}
  ~MpiBackend() override {
    int finalised = 0;
    MPI_Finalized(&finalised);
    if (!finalised && !pending_.empty()) MPI_Waitall(static_cast<int>(pending_.size()), pending_.data(), MPI_STATUSES_IGNORE);
  }

  std::string name() const override { return "mpi"; }
  int rank() const override { return comm_.rank(); }
  int size() const override { return comm_.size(); }

  void startSum(const at::Tensor& flat, bool async) override {
    requireCpuContiguous(flat, "mpi");
    MPI_Datatype type = mpiTypeOf(flat);
    char* p = static_cast<char*>(flat.data_ptr());
    std::int64_t left = flat.numel();
    const std::size_t es = flat.element_size();
    while (left > 0) {  // MPI counts are int: very large buffers go in pieces
      const int n = static_cast<int>(std::min<std::int64_t>(left, INT_MAX / 2));
      if (async) {
        pending_.push_back(MPI_REQUEST_NULL);
        CROPMAP_MPI(MPI_Iallreduce(MPI_IN_PLACE, p, n, type, MPI_SUM, comm_.get(), &pending_.back()));
      } else {
        CROPMAP_MPI(MPI_Allreduce(MPI_IN_PLACE, p, n, type, MPI_SUM, comm_.get()));
      }
      p += static_cast<std::size_t>(n) * es;
      left -= n;
    }
  }

  void poll() override {
    if (pending_.empty()) return;
    int done = 0;
    CROPMAP_MPI(MPI_Testall(static_cast<int>(pending_.size()), pending_.data(), &done, MPI_STATUSES_IGNORE));
    if (done) pending_.clear();
  }

  void finishAll() override {
    if (pending_.empty()) return;
    CROPMAP_MPI(MPI_Waitall(static_cast<int>(pending_.size()), pending_.data(), MPI_STATUSES_IGNORE));
    pending_.clear();
  }

  void broadcast(const std::vector<at::Tensor>& tensors, int root) override {
    for (const auto& t : tensors) {
      requireCpuContiguous(t, "mpi");
      MPI_Datatype type = mpiTypeOf(t);
      char* p = static_cast<char*>(t.data_ptr());
      std::int64_t left = t.numel();
      const std::size_t es = t.element_size();
      while (left > 0) {
        const int n = static_cast<int>(std::min<std::int64_t>(left, INT_MAX / 2));
        CROPMAP_MPI(MPI_Bcast(p, n, type, root, comm_.get()));
        p += static_cast<std::size_t>(n) * es;
        left -= n;
      }
    }
  }

 private:
  DupComm comm_;
  std::vector<MPI_Request> pending_;
};

class SerialBackend final : public AllreduceBackend {
 public:
  explicit SerialBackend(const AllreduceOptions& o) : AllreduceBackend(o) {
    int size = 1;
    CROPMAP_MPI(MPI_Comm_size(o.comm, &size));
    if (size != 1)
      throw UsageError("train.backend: serial runs one process, but this job has " + std::to_string(size) +
                       " ranks; use train.backend: mpi");
  }
  std::string name() const override { return "serial"; }
  int rank() const override { return 0; }
  int size() const override { return 1; }
  void startSum(const at::Tensor& flat, bool) override { mpiTypeOf(flat); }
  void finishAll() override {}
  void broadcast(const std::vector<at::Tensor>&, int) override {}
};

struct BackendEntry {
  const char* name;
  std::unique_ptr<AllreduceBackend> (*make)(const AllreduceOptions&);
};

const std::vector<BackendEntry>& backendTable() {
  static const std::vector<BackendEntry> table = {
      {"mpi", [](const AllreduceOptions& o) -> std::unique_ptr<AllreduceBackend> { return std::make_unique<MpiBackend>(o); }},
#ifdef CROPMAP_WITH_NCCL
      {"nccl", [](const AllreduceOptions& o) { return makeNcclBackend(o); }},
#endif
      {"serial",
       [](const AllreduceOptions& o) -> std::unique_ptr<AllreduceBackend> { return std::make_unique<SerialBackend>(o); }},
  };
  return table;
}

}  // namespace

std::int64_t bucketElements(double bucketMb, std::size_t elementBytes) {
  const double bytes = bucketMb * 1024.0 * 1024.0;
  return std::max<std::int64_t>(1, static_cast<std::int64_t>(bytes / static_cast<double>(elementBytes)));
}

void AllreduceBackend::allreduceMean(const std::vector<at::Tensor>& tensors) {
  lastBytes_ = 0;
  for (const auto& t : tensors) {
    if (!t.defined()) throw std::invalid_argument(name() + " backend: undefined tensor");
    if (!t.is_contiguous()) throw std::invalid_argument(name() + " backend: tensors must be contiguous");
    if (t.scalar_type() != at::kFloat && t.scalar_type() != at::kDouble)
      throw std::invalid_argument("allreduce: only float32 and float64 tensors can be averaged, got " +
                                  std::string(c10::toString(t.scalar_type())));
  }
  at::NoGradGuard noGrad;
  for (auto dtype : {at::kFloat, at::kDouble}) {
    std::vector<at::Tensor> group;
    for (const auto& t : tensors)
      if (t.scalar_type() == dtype && t.numel() > 0) group.push_back(t.view({-1}));
    if (group.empty()) continue;
    at::Tensor flat = at::cat(group);
    lastBytes_ += static_cast<std::size_t>(flat.numel()) * flat.element_size();
    const std::int64_t per = bucketElements(options_.bucketMb, flat.element_size());
    for (std::int64_t from = 0; from < flat.numel(); from += per)
      startSum(flat.narrow(0, from, std::min(per, flat.numel() - from)), options_.overlap);
    finishAll();
    if (size() > 1) flat.div_(size());
    std::int64_t at = 0;
    for (auto& g : group) {
      g.copy_(flat.narrow(0, at, g.numel()));
      at += g.numel();
    }
  }
}

std::vector<std::string> allreduceBackendNames() {
  std::vector<std::string> names;
  for (const auto& e : backendTable()) names.emplace_back(e.name);
  return names;
}

std::string runtimeVersions() {
  std::ostringstream os;
  os << "  LibTorch:   " << TORCH_VERSION << ", CUDA " << (torch::cuda::is_available() ? "available" : "not available")
     << "\n";
#ifdef CROPMAP_WITH_NCCL
  int nv = 0;
  if (ncclGetVersion(&nv) == ncclSuccess)
    os << "  NCCL:       " << nv / 10000 << "." << (nv / 100) % 100 << "." << nv % 100 << " (backend built)\n";
  else
    os << "  NCCL:       built, but ncclGetVersion failed\n";
#else
  os << "  NCCL:       not built\n";
#endif
  return os.str();
}

std::unique_ptr<AllreduceBackend> makeAllreduceBackend(const std::string& name, const AllreduceOptions& options) {
  for (const auto& e : backendTable())
    if (name == e.name) return e.make(options);
  if (name == "nccl")
    throw UsageError("train.backend: nccl is not built into this binary (CUDA and NCCL were not found at build "
                     "time); use train.backend: mpi");
  std::string list;
  for (const auto& n : allreduceBackendNames()) list += (list.empty() ? "" : "|") + n;
  throw UsageError("train.backend: unknown allreduce backend '" + name + "'; expected one of " + list);
}

}  // namespace cropmap
