// Gradient averaging for data-parallel training (DESIGN §7).
//
// Every rank holds a full model replica; after each backward pass an
// AllreduceBackend averages the gradients so that all replicas take the same
// optimiser step and stay bit-identical. Backends are chosen by the name users
// write in `train.backend`, through the explicit table in allreduce.cpp:
//   mpi     CPU tensors; gradients fused into buckets of `bucketMb`, reduced in
//           place with MPI_Allreduce (or MPI_Iallreduce, pipelined, with overlap)
//   nccl    CUDA tensors; communicator from an ncclUniqueId made on rank 0 and
//           broadcast over MPI (built only with CROPMAP_WITH_NCCL)
//   serial  one process: averaging is the identity
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
  double bucketMb = 25.0;  // mpi: fusion buffer size
  bool overlap = false;    // mpi: MPI_Iallreduce per bucket, several in flight
};

class AllreduceBackend {
 public:
  virtual ~AllreduceBackend() = default;
  virtual std::string name() const = 0;
  virtual int rank() const = 0;
  virtual int size() const = 0;
  // Replaces each tensor by the element-wise mean over all ranks. Tensors must
  // be contiguous, floating point, and listed in the same order on every rank.
  virtual void allreduceMean(const std::vector<at::Tensor>& tensors) = 0;
  // Copies root's tensors onto every rank (initial parameters and buffers).
  virtual void broadcast(const std::vector<at::Tensor>& tensors, int root = 0) = 0;
  // Bytes moved by the last allreduceMean (payload, not protocol overhead).
  virtual std::size_t lastBytes() const = 0;
};

// The backend registered under `name` (mpi, nccl, serial). Throws UsageError
// for an unknown name, a backend not built into this binary, or one that
// cannot run here (nccl without a visible GPU, serial with more than one rank).
std::unique_ptr<AllreduceBackend> makeAllreduceBackend(const std::string& name, const AllreduceOptions& options);
// Names of the backends built into this binary, in table order.
std::vector<std::string> allreduceBackendNames();

#ifdef CROPMAP_WITH_NCCL
// Defined in nccl_backend.cpp.
std::unique_ptr<AllreduceBackend> makeNcclBackend(const AllreduceOptions& options);
#endif

}  // namespace cropmap
