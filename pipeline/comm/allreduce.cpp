// The mpi and serial backends and the backend table.
#include "allreduce.hpp"

#include <ATen/core/Tensor.h>

#include <algorithm>
#include <climits>
#include <cstring>

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

// Gradients of many small tensors are fused into buckets: the tensors of one
// dtype are treated as one virtual flat array that is cut into consecutive
// pieces of at most bucketElems elements, so a tensor may span buckets and a
// bucket may hold many tensors. One allreduce per bucket instead of one per
// tensor is what keeps latency from dominating small models.
class MpiBackend final : public AllreduceBackend {
 public:
  explicit MpiBackend(const AllreduceOptions& o)
      : comm_(o.comm), bucketBytes_(std::max<std::size_t>(static_cast<std::size_t>(o.bucketMb * 1024.0 * 1024.0), 64)),
        overlap_(o.overlap) {}

  std::string name() const override { return "mpi"; }
  int rank() const override { return comm_.rank(); }
  int size() const override { return comm_.size(); }
  std::size_t lastBytes() const override { return lastBytes_; }

  void allreduceMean(const std::vector<at::Tensor>& tensors) override {
    lastBytes_ = 0;
    for (auto dtype : {at::kFloat, at::kDouble}) {
      std::vector<const at::Tensor*> group;
      for (const auto& t : tensors) {
        requireCpuContiguous(t, "mpi");
        mpiTypeOf(t);  // rejects other dtypes
        if (t.scalar_type() == dtype && t.numel() > 0) group.push_back(&t);
      }
      if (!group.empty()) reduceGroup(group, dtype == at::kFloat ? MPI_FLOAT : MPI_DOUBLE,
                                      dtype == at::kFloat ? sizeof(float) : sizeof(double));
    }
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
  struct Span {
    const at::Tensor* t;
    std::int64_t offset;  // first element of the tensor in the virtual array
  };

  // Copies virtual elements [from, from+count) between the tensors and buf.
  template <bool Pack, class T>
  static void move(const std::vector<Span>& spans, std::int64_t from, std::int64_t count, T* buf, T scale) {
    auto it = std::upper_bound(spans.begin(), spans.end(), from,
                               [](std::int64_t v, const Span& s) { return v < s.offset; });
    --it;
    std::int64_t done = 0;
    for (; done < count; ++it) {
      T* data = static_cast<T*>(it->t->data_ptr());
      const std::int64_t inT = from + done - it->offset;
      const std::int64_t n = std::min(count - done, it->t->numel() - inT);
      if constexpr (Pack) {
        std::memcpy(buf + done, data + inT, static_cast<std::size_t>(n) * sizeof(T));
      } else {
        for (std::int64_t i = 0; i < n; ++i) data[inT + i] = buf[done + i] / scale;
      }
      done += n;
    }
  }

  void reduceGroup(const std::vector<const at::Tensor*>& group, MPI_Datatype type, std::size_t es) {
    std::vector<Span> spans;
    std::int64_t total = 0;
    for (const auto* t : group) {
      spans.push_back({t, total});
      total += t->numel();
    }
    lastBytes_ += static_cast<std::size_t>(total) * es;
    const std::int64_t per = std::max<std::int64_t>(1, static_cast<std::int64_t>(bucketBytes_ / es));
    const std::int64_t buckets = (total + per - 1) / per;
    const int slots = overlap_ ? 2 : 1;
    const std::size_t slotElems = static_cast<std::size_t>(std::min(per, total));
    if (buffer_.size() < slots * slotElems * es) buffer_.resize(slots * slotElems * es);
    const bool isFloat = type == MPI_FLOAT;
    const int ranks = comm_.size();

    auto slotPtr = [&](int slot) { return buffer_.data() + static_cast<std::size_t>(slot) * slotElems * es; };
    auto pack = [&](std::int64_t b, int slot) {
      const std::int64_t from = b * per, n = std::min(per, total - from);
      if (isFloat) move<true>(spans, from, n, reinterpret_cast<float*>(slotPtr(slot)), 1.0f);
      else move<true>(spans, from, n, reinterpret_cast<double*>(slotPtr(slot)), 1.0);
      return static_cast<int>(n);
    };
    auto unpack = [&](std::int64_t b, int slot) {
      const std::int64_t from = b * per, n = std::min(per, total - from);
      if (isFloat) move<false>(spans, from, n, reinterpret_cast<float*>(slotPtr(slot)), static_cast<float>(ranks));
      else move<false>(spans, from, n, reinterpret_cast<double*>(slotPtr(slot)), static_cast<double>(ranks));
    };

    if (!overlap_) {
      for (std::int64_t b = 0; b < buckets; ++b) {
        const int n = pack(b, 0);
        CROPMAP_MPI(MPI_Allreduce(MPI_IN_PLACE, slotPtr(0), n, type, MPI_SUM, comm_.get()));
        unpack(b, 0);
      }
      return;
    }
    // Double buffering: bucket b+1 is packed while bucket b is on the wire.
    MPI_Request req[2] = {MPI_REQUEST_NULL, MPI_REQUEST_NULL};
    std::int64_t pending[2] = {-1, -1};
    auto finish = [&](int slot) {
      if (pending[slot] < 0) return;
      CROPMAP_MPI(MPI_Wait(&req[slot], MPI_STATUS_IGNORE));  // returns at once if MPI_Test completed it
      unpack(pending[slot], slot);
      pending[slot] = -1;
    };
    for (std::int64_t b = 0; b < buckets; ++b) {
      const int slot = static_cast<int>(b % 2);
      finish(slot);
      const int n = pack(b, slot);
      CROPMAP_MPI(MPI_Iallreduce(MPI_IN_PLACE, slotPtr(slot), n, type, MPI_SUM, comm_.get(), &req[slot]));
      pending[slot] = b;
      int flag = 0;  // drives progress of the other bucket: Open MPI progresses inside MPI calls
      CROPMAP_MPI(MPI_Test(&req[1 - slot], &flag, MPI_STATUS_IGNORE));
    }
    finish(0);
    finish(1);
  }

  DupComm comm_;
  std::size_t bucketBytes_;
  bool overlap_;
  std::vector<char> buffer_;
  std::size_t lastBytes_ = 0;
};

class SerialBackend final : public AllreduceBackend {
 public:
  explicit SerialBackend(const AllreduceOptions& o) {
    int size = 1;
    CROPMAP_MPI(MPI_Comm_size(o.comm, &size));
    if (size != 1)
      throw UsageError("train.backend: serial runs one process, but this job has " + std::to_string(size) +
                       " ranks; use train.backend: mpi");
  }
  std::string name() const override { return "serial"; }
  int rank() const override { return 0; }
  int size() const override { return 1; }
  std::size_t lastBytes() const override { return 0; }
  void allreduceMean(const std::vector<at::Tensor>&) override {}
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

std::vector<std::string> allreduceBackendNames() {
  std::vector<std::string> names;
  for (const auto& e : backendTable()) names.emplace_back(e.name);
  return names;
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
