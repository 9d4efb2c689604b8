// The nccl backend: gradients of CUDA tensors averaged with ncclAllReduce.
// Compiled only when CMake found CUDA and NCCL (CROPMAP_WITH_NCCL).
#include <ATen/core/Tensor.h>
#include <cuda_runtime_api.h>
#include <nccl.h>

#include "allreduce.hpp"
#include "pipeline/mpi.hpp"

namespace cropmap {

namespace {

void checkNccl(ncclResult_t rc, const char* call, const char* file, int line) {
  if (rc == ncclSuccess) return;
  throw std::runtime_error(std::string("NCCL error in ") + call + " at " + file + ":" + std::to_string(line) +
                           " on rank " + std::to_string(worldRank()) + ": " + ncclGetErrorString(rc));
}
void checkCuda(cudaError_t rc, const char* call, const char* file, int line) {
  if (rc == cudaSuccess) return;
  throw std::runtime_error(std::string("CUDA error in ") + call + " at " + file + ":" + std::to_string(line) +
                           " on rank " + std::to_string(worldRank()) + ": " + cudaGetErrorString(rc));
}
#define CROPMAP_NCCL(call) checkNccl((call), #call, __FILE__, __LINE__)
#define CROPMAP_CUDA(call) checkCuda((call), #call, __FILE__, __LINE__)

ncclDataType_t ncclTypeOf(const at::Tensor& t) {
  switch (t.scalar_type()) {
    case at::kFloat: return ncclFloat32;
    case at::kDouble: return ncclFloat64;
    case at::kHalf: return ncclFloat16;
    default: throw std::invalid_argument("nccl backend: unsupported tensor dtype");
  }
}

void requireCuda(const at::Tensor& t) {
  if (!t.defined() || !t.is_cuda() || !t.is_contiguous())
    throw std::invalid_argument("nccl backend: tensors must be contiguous CUDA tensors");
}

class NcclBackend final : public AllreduceBackend {
 public:
  explicit NcclBackend(const AllreduceOptions& o) : AllreduceBackend(o) {
    CROPMAP_MPI(MPI_Comm_rank(o.comm, &rank_));
    CROPMAP_MPI(MPI_Comm_size(o.comm, &size_));
    int devices = 0;
    const cudaError_t probe = cudaGetDeviceCount(&devices);
    if (probe != cudaSuccess || devices == 0) {
      const std::string why = probe != cudaSuccess
                                  ? std::string("cudaGetDeviceCount failed (") + cudaGetErrorString(probe) + ")"
                                  : std::string("cudaGetDeviceCount found no device");
      throw UsageError("train.backend: nccl needs a visible CUDA GPU on every rank, but on rank " +
                       std::to_string(rank_) + " " + why +
                       "; use train.backend: mpi to train on CPUs (or run on a GPU node)");
    }
    // One GPU per rank on a node: the rank among the node's ranks picks the device.
    MPI_Comm node = MPI_COMM_NULL;
    CROPMAP_MPI(MPI_Comm_split_type(o.comm, MPI_COMM_TYPE_SHARED, rank_, MPI_INFO_NULL, &node));
    int local = 0;
    CROPMAP_MPI(MPI_Comm_rank(node, &local));
    CROPMAP_MPI(MPI_Comm_free(&node));
    device_ = local % devices;
    CROPMAP_CUDA(cudaSetDevice(device_));

    ncclUniqueId id;
    if (rank_ == 0) CROPMAP_NCCL(ncclGetUniqueId(&id));
    CROPMAP_MPI(MPI_Bcast(&id, sizeof(id), MPI_BYTE, 0, o.comm));
    CROPMAP_NCCL(ncclCommInitRank(&comm_, size_, id, rank_));
    CROPMAP_CUDA(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking));
    CROPMAP_CUDA(cudaEventCreateWithFlags(&ready_, cudaEventDisableTiming));
  }
  ~NcclBackend() override {
    if (ready_) cudaEventDestroy(ready_);
    if (stream_) cudaStreamDestroy(stream_);
    if (comm_) ncclCommDestroy(comm_);
  }

  std::string name() const override { return "nccl"; }
  int rank() const override { return rank_; }
  int size() const override { return size_; }

  // NCCL always queues on our stream: async or not, finishAll() (or the next
  // blocking call) is what waits.
  void startSum(const at::Tensor& flat, bool async) override {
    requireCuda(flat);
    afterCompute();
    CROPMAP_NCCL(ncclAllReduce(flat.data_ptr(), flat.data_ptr(), static_cast<size_t>(flat.numel()), ncclTypeOf(flat),
                               ncclSum, comm_, stream_));
    if (!async) CROPMAP_CUDA(cudaStreamSynchronize(stream_));
  }

  void finishAll() override { CROPMAP_CUDA(cudaStreamSynchronize(stream_)); }

  void broadcast(const std::vector<at::Tensor>& tensors, int root) override {
    afterCompute();
    CROPMAP_NCCL(ncclGroupStart());
    for (const auto& t : tensors) {
      requireCuda(t);
      CROPMAP_NCCL(ncclBroadcast(t.data_ptr(), t.data_ptr(), static_cast<size_t>(t.numel()), ncclTypeOf(t), root,
                                 comm_, stream_));
    }
    CROPMAP_NCCL(ncclGroupEnd());
    CROPMAP_CUDA(cudaStreamSynchronize(stream_));
  }

 private:
  // Our stream waits, on the device, for what LibTorch queued so far: an event
  // recorded on the compute stream and waited on by ours, as c10d does, rather
  // than a host-side synchronisation per bucket that would serialise backward
  // and the reductions. LibTorch computes on the legacy default stream unless
  // a caller installs another stream, which cropmap never does.
  void afterCompute() {
    CROPMAP_CUDA(cudaEventRecord(ready_, cudaStreamLegacy));
    CROPMAP_CUDA(cudaStreamWaitEvent(stream_, ready_, 0));
  }

  int rank_ = 0, size_ = 1, device_ = 0;
  ncclComm_t comm_ = nullptr;
  cudaStream_t stream_ = nullptr;
  cudaEvent_t ready_ = nullptr;
};

}  // namespace

std::unique_ptr<AllreduceBackend> makeNcclBackend(const AllreduceOptions& options) {
  return std::make_unique<NcclBackend>(options);
}

}  // namespace cropmap
