// The nccl backend on real GPUs: labelled gpu, skipped where no device is visible.
#include <gtest/gtest.h>
#include <mpi.h>

#include "pipeline/comm/allreduce.hpp"
#include "stages/train/models.hpp"

using namespace cropmap;

TEST(NcclBackend, AveragesCudaTensors) {
#ifndef CROPMAP_WITH_NCCL
  GTEST_SKIP() << "built without NCCL";
#else
  if (!torch::cuda::is_available()) GTEST_SKIP() << "no CUDA device visible to LibTorch";
  int rank = 0, size = 1;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  auto backend = makeAllreduceBackend("nccl", AllreduceOptions{});
  EXPECT_EQ(backend->name(), "nccl");
  auto a = torch::full({1000}, static_cast<float>(rank * 2), torch::kCUDA);
  auto b = torch::full({7}, static_cast<float>(rank), torch::kCUDA);
  backend->allreduceMean({a, b});
  EXPECT_EQ(a.cpu()[999].item<float>(), static_cast<float>(size - 1));
  EXPECT_EQ(b.cpu()[0].item<float>(), static_cast<float>(size - 1) / 2);
  auto c = torch::full({3}, static_cast<float>(rank + 5), torch::kCUDA);
  backend->broadcast({c}, 0);
  EXPECT_EQ(c.cpu()[2].item<float>(), 5.0f);
#endif
}
