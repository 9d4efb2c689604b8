// Averaging a model's gradients across ranks without packing them (DESIGN §7).
//
// The reducer allocates one flat buffer for all gradients and makes every
// parameter's .grad a window into it, so backward accumulates straight into the
// buffer and the backend sums slices of it in place: nothing is copied on the
// way to or from the wire. Parameters are laid out in reverse registration
// order, roughly the order in which backward produces their gradients, and cut
// into buckets of `bucketMb` (a parameter is never split; one larger than a
// bucket gets a bucket of its own). With `overlap` a hook on each parameter's
// gradient accumulator counts the gradients still missing in its bucket and
// starts the bucket's reduction as soon as the count reaches zero, while
// backward goes on with earlier layers. Buckets always start in index order, so
// every rank issues the same sequence of collectives.
//
// Float module buffers (batch-norm running statistics) are averaged with the
// gradients, from a tail of the flat buffer, so that replicas agree on them.
//
//   GradientReducer reducer(model->parameters(), floatBuffers(*model), *backend);
//   for each step: reducer.zeroGrad(); reducer.scaleLoss(loss).backward(); reducer.reduce(); optimizer.step();
//
// scaleLoss() divides the loss by the rank count, so backward produces
// gradients already divided and the sum over ranks is the mean: reduce() is
// then one allreduce per bucket and no pass over the gradients. Without it,
// reduce() divides the summed gradients itself.
//
// Do not call the optimiser's zero_grad(): zeroGrad() clears the flat buffer in
// one pass, and the gradients must stay windows into it.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "allreduce.hpp"

namespace torch::autograd {
struct Node;
}

namespace cropmap {

class GradientReducer {
 public:
  GradientReducer(std::vector<at::Tensor> params, std::vector<at::Tensor> buffers, AllreduceBackend& backend);
  ~GradientReducer();
  GradientReducer(const GradientReducer&) = delete;
  GradientReducer& operator=(const GradientReducer&) = delete;

  // Zeroes every gradient (and re-attaches any gradient that was replaced).
  void zeroGrad();
  // The loss divided by the rank count, for backward in this step (the loss
  // itself at one rank); reduce() then leaves the gradient sums as they are.
  at::Tensor scaleLoss(const at::Tensor& loss);
  // After backward: starts the buckets not yet started, waits for all, and
  // divides by the rank count. Gradients of parameters that backward did not
  // reach are zero on that rank.
  void reduce();

  std::size_t bytes() const;        // gradients and buffers averaged per step
  int buckets() const;              // gradient buckets (the buffer tail not counted)
  // Buckets whose reduction started during the last backward, before reduce().
  int bucketsStartedEarly() const { return startedEarly_; }

 private:
  struct Bucket {
    std::int64_t offset = 0, numel = 0;
    int params = 0;   // parameters in the bucket
    int missing = 0;  // gradients not yet produced in this backward
  };

  void onGradient(std::size_t param);
  void startReadyBuckets();
  void attachGrad(std::size_t param);

  std::vector<at::Tensor> params_, buffers_;
  AllreduceBackend& backend_;
  bool overlap_;
  at::Tensor flat_;
  std::vector<std::int64_t> paramOffset_;
  std::vector<int> bucketOf_;
  std::vector<Bucket> buckets_;
  std::int64_t bufferOffset_ = 0, bufferNumel_ = 0;
  int nextBucket_ = 0;    // first bucket not yet started in this step
  int startedEarly_ = 0;  // nextBucket_ when the last reduce() began
  bool inStep_ = false;
  bool lossScaled_ = false;  // this step's gradients come from scaleLoss()
  std::vector<std::shared_ptr<torch::autograd::Node>> accumulators_;
  std::vector<std::uintptr_t> hookKeys_;
};

}  // namespace cropmap
