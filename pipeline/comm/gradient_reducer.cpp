#include "gradient_reducer.hpp"

#include <ATen/ATen.h>
#include <torch/csrc/autograd/function.h>
#include <torch/csrc/autograd/utils/lambda_post_hook.h>
#include <torch/csrc/autograd/variable.h>

#include <stdexcept>
#include <string>

namespace cropmap {

GradientReducer::GradientReducer(std::vector<at::Tensor> params, std::vector<at::Tensor> buffers,
                                 AllreduceBackend& backend)
    : params_(std::move(params)), buffers_(std::move(buffers)), backend_(backend),
      overlap_(backend.options().overlap) {
  if (params_.empty()) throw std::invalid_argument("gradient reducer: the model has no parameters");
  const auto dtype = params_.front().scalar_type();
  const auto device = params_.front().device();
  if (dtype != at::kFloat && dtype != at::kDouble)
    throw std::invalid_argument("gradient reducer: parameters must be float32 or float64, got " +
                                std::string(c10::toString(dtype)));
  auto check = [&](const at::Tensor& t, const char* what, std::size_t i) {
    if (t.scalar_type() != dtype || t.device() != device)
      throw std::invalid_argument(std::string("gradient reducer: ") + what + " " + std::to_string(i) +
                                  " differs in dtype or device from the first parameter");
  };
  for (std::size_t i = 0; i < params_.size(); ++i) {
    check(params_[i], "parameter", i);
    if (!params_[i].requires_grad())
      throw std::invalid_argument("gradient reducer: parameter " + std::to_string(i) + " does not require grad");
  }
  for (std::size_t i = 0; i < buffers_.size(); ++i) {
    check(buffers_[i], "buffer", i);
    if (!buffers_[i].is_contiguous())
      throw std::invalid_argument("gradient reducer: buffer " + std::to_string(i) + " is not contiguous");
  }

  // Layout: parameters last to first, cut into buckets; then the buffers.
  const std::size_t es = params_.front().element_size();
  const std::int64_t per = bucketElements(backend.options().bucketMb, es);
  paramOffset_.resize(params_.size());
  bucketOf_.resize(params_.size());
  std::int64_t at = 0;
  for (std::size_t k = params_.size(); k-- > 0;) {
    const std::int64_t n = params_[k].numel();
    if (buckets_.empty() || (buckets_.back().numel > 0 && buckets_.back().numel + n > per)) {
      buckets_.push_back(Bucket{at, 0, 0, 0});
    }
    paramOffset_[k] = at;
    bucketOf_[k] = static_cast<int>(buckets_.size()) - 1;
    buckets_.back().numel += n;
    buckets_.back().params += 1;
    at += n;
  }
  bufferOffset_ = at;
  for (const auto& b : buffers_) bufferNumel_ += b.numel();
  flat_ = at::zeros({at + bufferNumel_}, params_.front().options().requires_grad(false));
  for (std::size_t k = 0; k < params_.size(); ++k) attachGrad(k);

  if (overlap_) {
    for (std::size_t k = 0; k < params_.size(); ++k) {
      auto acc = torch::autograd::impl::grad_accumulator(params_[k]);
      if (!acc) throw std::invalid_argument("gradient reducer: parameter " + std::to_string(k) + " is not a leaf");
      hookKeys_.push_back(acc->add_post_hook(std::make_unique<torch::autograd::utils::LambdaPostHook>(
          [this, k](const torch::autograd::variable_list& outputs, const torch::autograd::variable_list&) {
            onGradient(k);
            return outputs;
          })));
      accumulators_.push_back(std::move(acc));  // the variable holds it only weakly
    }
  }
}

GradientReducer::~GradientReducer() {
  for (std::size_t i = 0; i < accumulators_.size(); ++i) accumulators_[i]->del_post_hook(hookKeys_[i]);
  try {
    backend_.finishAll();
  } catch (...) {
  }
}

void GradientReducer::attachGrad(std::size_t k) {
  // A window of the flat buffer that is not an autograd view: AccumulateGrad
  // adds into it in place, and the optimiser reads it like any gradient.
  auto& p = params_[k];
  void* data = static_cast<char*>(flat_.data_ptr()) + paramOffset_[k] * flat_.element_size();
  at::Tensor keep = flat_;
  p.mutable_grad() = at::from_blob(data, p.sizes(), [keep](void*) {}, flat_.options());
}

void GradientReducer::zeroGrad() {
  if (inStep_) reduce();  // a step left without reduce(): finish its collectives first
  flat_.zero_();
  for (std::size_t k = 0; k < params_.size(); ++k) {
    const auto& g = params_[k].grad();
    if (!g.defined() || g.data_ptr() != static_cast<char*>(flat_.data_ptr()) + paramOffset_[k] * flat_.element_size())
      attachGrad(k);
  }
  for (auto& b : buckets_) b.missing = b.params;
  nextBucket_ = 0;
  inStep_ = true;
  lossScaled_ = false;
}

at::Tensor GradientReducer::scaleLoss(const at::Tensor& loss) {
  if (!inStep_) throw std::logic_error("gradient reducer: scaleLoss() outside a step; call zeroGrad() first");
  lossScaled_ = true;
  return backend_.size() > 1 ? loss / static_cast<double>(backend_.size()) : loss;
}

void GradientReducer::onGradient(std::size_t k) {
  if (!inStep_) return;  // a backward outside zeroGrad()/reduce(): nothing to overlap with
  Bucket& b = buckets_[bucketOf_[k]];
  if (b.missing <= 0)
    throw std::logic_error("gradient reducer: a gradient arrived for a bucket already being reduced "
                           "(two backward passes between zeroGrad() and reduce())");
  --b.missing;
  startReadyBuckets();
  backend_.poll();
}

void GradientReducer::startReadyBuckets() {
  while (nextBucket_ < static_cast<int>(buckets_.size()) && buckets_[nextBucket_].missing == 0) {
    const Bucket& b = buckets_[nextBucket_];
    backend_.startSum(flat_.narrow(0, b.offset, b.numel), true);
    ++nextBucket_;
  }
}

void GradientReducer::reduce() {
  at::NoGradGuard noGrad;
  if (!inStep_) {  // called without zeroGrad()/backward: average the values as they are
    nextBucket_ = 0;
    lossScaled_ = false;
  }
  // A gradient replaced behind our back is copied into its window before the
  // sum; one dropped (set to undefined) gets its window back, so that every
  // rank's optimiser sees the same, averaged gradient.
  for (std::size_t k = 0; k < params_.size(); ++k) {
    const auto& g = params_[k].grad();
    void* window = static_cast<char*>(flat_.data_ptr()) + paramOffset_[k] * flat_.element_size();
    if (!g.defined()) {
      attachGrad(k);
    } else if (g.data_ptr() != window) {
      if (bucketOf_[k] < nextBucket_)
        throw std::logic_error("gradient reducer: parameter " + std::to_string(k) +
                               "'s gradient was replaced after its bucket was sent");
      flat_.narrow(0, paramOffset_[k], params_[k].numel()).copy_(g.reshape({-1}));
      attachGrad(k);
    }
  }
  std::int64_t at = bufferOffset_;
  for (const auto& b : buffers_) {
    flat_.narrow(0, at, b.numel()).copy_(b.reshape({-1}));
    at += b.numel();
  }
  const int early = nextBucket_;
  for (; nextBucket_ < static_cast<int>(buckets_.size()); ++nextBucket_) {
    const Bucket& b = buckets_[nextBucket_];
    backend_.startSum(flat_.narrow(0, b.offset, b.numel), overlap_);
  }
  if (bufferNumel_ > 0) backend_.startSum(flat_.narrow(0, bufferOffset_, bufferNumel_), overlap_);
  backend_.finishAll();
  startedEarly_ = early;
  if (backend_.size() > 1) {
    // Gradients from a scaled loss already sum to the mean; buffers always need the division.
    auto averaged = lossScaled_ ? flat_.narrow(0, bufferOffset_, bufferNumel_) : flat_;
    if (averaged.numel() > 0) averaged.div_(backend_.size());
  }
  at = bufferOffset_;
  for (auto& b : buffers_) {
    b.copy_(flat_.narrow(0, at, b.numel()).view(b.sizes()));
    at += b.numel();
  }
  inStep_ = false;
  lossScaled_ = false;
}

std::size_t GradientReducer::bytes() const {
  return static_cast<std::size_t>(flat_.numel()) * flat_.element_size();
}

int GradientReducer::buckets() const { return static_cast<int>(buckets_.size()); }

}  // namespace cropmap
