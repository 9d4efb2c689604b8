// Gradient averaging for data-parallel training (DESIGN §7).
//
// Every rank holds a full model replica; after each backward pass the ranks
// average their gradients so that all replicas take the same optimiser step
// and stay bit-identical. Two layers:
//   AllreduceBackend  the transport, chosen by the name users write in
//                     `train.backend`, through the explicit table in allreduce.cpp:
//     mpi     CPU tensors; MPI_Allreduce in place, or MPI_Iallreduce when
//             reductions overlap the backward pass
//     nccl    CUDA tensors; communicator from an ncclUniqueId made on rank 0 and
//             broadcast over MPI (built only with CROPMAP_WITH_NCCL)
//     serial  one process: a sum over one rank is the identity
//   GradientReducer   (gradient_reducer.hpp) keeps every gradient in one flat
//                     buffer cut into buckets and hands the buckets to a backend,
//                     optionally as soon as backward has produced them.
// The header names at::Tensor only by declaration, so it stays cheap to include.
#pragma once

#include <mpi.h>

#include <memory>
#include <string>
#include <vector>

namespace at {
class Tensor;
}

namespace cropmap {

struct AllreduceOptions {
  MPI_Comm comm = MPI_COMM_WORLD;
  double bucketMb = 25.0;  // bucket size: gradients are reduced in pieces of this many MB
  bool overlap = false;    // start each bucket's reduction during backward, as soon as it is complete
};

class AllreduceBackend {
 public:
  virtual ~AllreduceBackend() = default;
  virtual std::string name() const = 0;
  virtual int rank() const = 0;
  virtual int size() const = 0;

  // Replaces `flat` (contiguous, float32 or float64) by its element-wise sum over
  // all ranks. With async the call may return before the sum is complete
  // (finishAll() waits for it); without, it returns with the sum in place. Every
  // rank must start its sums in the same order.
  virtual void startSum(const at::Tensor& flat, bool async) = 0;
  // Lets started sums progress (MPI progresses only inside MPI calls).
  virtual void poll() {}
  // Waits until every started sum is complete.
  virtual void finishAll() = 0;
  // Copies root's tensors onto every rank (initial parameters and buffers).
  virtual void broadcast(const std::vector<at::Tensor>& tensors, int root = 0) = 0;

  // Replaces each tensor by the element-wise mean over all ranks: tensors of one
  // dtype are packed into one flat buffer, summed in buckets of options.bucketMb,
  // divided and copied back. Tensors must be contiguous, float32 or float64, and
  // listed in the same order on every rank. Training uses GradientReducer, which
  // needs no packing; this is for tensors that are not gradients.
  void allreduceMean(const std::vector<at::Tensor>& tensors);
  // Bytes averaged by the last allreduceMean (payload, not protocol overhead).
  std::size_t lastBytes() const { return lastBytes_; }
  const AllreduceOptions& options() const { return options_; }

 protected:
  explicit AllreduceBackend(const AllreduceOptions& options) : options_(options) {}

 private:
  AllreduceOptions options_;
  std::size_t lastBytes_ = 0;
};

// The backend registered under `name` (mpi, nccl, serial). Throws UsageError
// for an unknown name, a backend not built into this binary, or one that
// cannot run here (nccl without a visible GPU, serial with more than one rank).
std::unique_ptr<AllreduceBackend> makeAllreduceBackend(const std::string& name, const AllreduceOptions& options);
// Names of the backends built into this binary, in the order of the backend
// table (pipeline/registry.hpp); nccl only when built with CUDA and NCCL.
std::vector<std::string> allreduceBackendNames();
// "LibTorch: ..., NCCL: ..." lines for `cropmap version`.
std::string runtimeVersions();

// Elements per bucket: as many elements of `elementBytes` bytes as fit in
// `bucketMb` MB, at least one.
std::int64_t bucketElements(double bucketMb, std::size_t elementBytes);

#ifdef CROPMAP_WITH_NCCL
// Defined in nccl_backend.cpp.
std::unique_ptr<AllreduceBackend> makeNcclBackend(const AllreduceOptions& options);
#endif

}  // namespace cropmap
