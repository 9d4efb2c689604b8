// Allreduce backends and the gradient reducer at 2 and 4 ranks: exact averages,
// buckets with odd sizes, broadcast, the backend table, gradients averaged in
// place with and without overlap, and replicas that stay bit-identical.
#include <gtest/gtest.h>
#include <mpi.h>

#include <cstring>

#include "pipeline/comm/allreduce.hpp"
#include "pipeline/comm/gradient_reducer.hpp"
#include "pipeline/mpi.hpp"
#include "pipeline/registry.hpp"
#include "stages/train/models.hpp"

using namespace cropmap;

namespace {

// Values chosen so that sums and the division by 2 or 4 ranks are exact in
// binary floating point: the expected average can be compared with ==.
float valueAt(int rank, std::int64_t tensor, std::int64_t i) {
  return static_cast<float>(rank * 4 + (tensor * 31 + i) % 97);
}

std::vector<torch::Tensor> rankTensors(int rank, const std::vector<std::int64_t>& sizes) {
  std::vector<torch::Tensor> ts;
  for (size_t t = 0; t < sizes.size(); ++t) {
    auto x = torch::empty({sizes[t]}, torch::kFloat);
    for (std::int64_t i = 0; i < sizes[t]; ++i) x[i] = valueAt(rank, static_cast<std::int64_t>(t), i);
    ts.push_back(x);
  }
  return ts;
}

void expectAverage(const std::vector<torch::Tensor>& ts, const std::vector<std::int64_t>& sizes) {
  const int size = worldSize();
  for (size_t t = 0; t < sizes.size(); ++t) {
    auto a = ts[t].accessor<float, 1>();
    for (std::int64_t i = 0; i < sizes[t]; ++i) {
      float sum = 0;
      for (int r = 0; r < size; ++r) sum += valueAt(r, static_cast<std::int64_t>(t), i);
      ASSERT_EQ(a[i], sum / static_cast<float>(size)) << "tensor " << t << " element " << i;
    }
  }
}

// Bytes of all tensors of a replica, compared against rank 0's.
bool sameAsRankZero(const std::vector<torch::Tensor>& ts) {
  std::vector<char> mine;
  for (const auto& t : ts) {
    auto c = t.contiguous();
    const char* p = static_cast<const char*>(c.data_ptr());
    mine.insert(mine.end(), p, p + c.numel() * c.element_size());
  }
  std::vector<char> root = mine;
  MPI_Bcast(root.data(), static_cast<int>(root.size()), MPI_BYTE, 0, MPI_COMM_WORLD);
  int same = std::memcmp(root.data(), mine.data(), mine.size()) == 0, all = 0;
  MPI_Allreduce(&same, &all, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD);
  return all == 1;
}

}  // namespace

class MpiAllreduce : public ::testing::TestWithParam<bool> {};

TEST_P(MpiAllreduce, EqualsHandComputedAverageWithOddBuckets) {
  const std::vector<std::int64_t> sizes{1, 7, 33, 1000, 3, 64, 17};
  // 64-byte buckets (16 floats): tensors span buckets, buckets span tensors.
  for (double bucketMb : {64.0 / (1024 * 1024), 100.0 / (1024 * 1024), 25.0}) {
    auto backend = makeAllreduceBackend("mpi", AllreduceOptions{MPI_COMM_WORLD, bucketMb, GetParam()});
    EXPECT_EQ(backend->name(), "mpi");
    EXPECT_EQ(backend->size(), worldSize());
    auto ts = rankTensors(worldRank(), sizes);
    backend->allreduceMean(ts);
    expectAverage(ts, sizes);
    std::int64_t total = 0;
    for (auto s : sizes) total += s;
    EXPECT_EQ(backend->lastBytes(), static_cast<std::size_t>(total) * sizeof(float));
  }
}

TEST_P(MpiAllreduce, MixedDtypesAndEmptyTensors) {
  auto backend = makeAllreduceBackend("mpi", AllreduceOptions{MPI_COMM_WORLD, 64.0 / (1024 * 1024), GetParam()});
  auto f = torch::full({5}, static_cast<float>(worldRank()), torch::kFloat);
  auto d = torch::full({9}, static_cast<double>(worldRank()) * 2, torch::kDouble);
  auto e = torch::empty({0}, torch::kFloat);
  backend->allreduceMean({f, e, d});
  const double mean = (worldSize() - 1) / 2.0;
  EXPECT_EQ(f[4].item<float>(), static_cast<float>(mean));
  EXPECT_EQ(d[8].item<double>(), 2 * mean);
  EXPECT_THROW(backend->allreduceMean({torch::zeros({3}, torch::kInt)}), std::invalid_argument);
}

INSTANTIATE_TEST_SUITE_P(Overlap, MpiAllreduce, ::testing::Values(false, true));

TEST(MpiBackend, BroadcastCopiesRankZero) {
  auto backend = makeAllreduceBackend("mpi", AllreduceOptions{});
  auto ts = rankTensors(worldRank(), {5, 300});
  backend->broadcast(ts, 0);
  auto expected = rankTensors(0, {5, 300});
  EXPECT_TRUE(torch::equal(ts[0], expected[0]));
  EXPECT_TRUE(torch::equal(ts[1], expected[1]));
}

TEST(BackendTable, NamesAndRefusals) {
  auto names = allreduceBackendNames();
  // Every backend built is one the option registry accepts (pipeline/registry).
  const auto known = backendNames();
  for (const auto& n : names) EXPECT_NE(std::find(known.begin(), known.end(), n), known.end()) << n;
  EXPECT_NE(std::find(names.begin(), names.end(), "mpi"), names.end());
  EXPECT_NE(std::find(names.begin(), names.end(), "serial"), names.end());
  EXPECT_THROW(makeAllreduceBackend("gloo", AllreduceOptions{}), UsageError);
  // serial is one process; these tests run at 2 and 4 ranks.
  try {
    makeAllreduceBackend("serial", AllreduceOptions{});
    FAIL() << "serial accepted " << worldSize() << " ranks";
  } catch (const UsageError& e) {
    EXPECT_NE(std::string(e.what()).find("train.backend: mpi"), std::string::npos) << e.what();
  }
}

TEST(BackendTable, NcclRefusesClearlyWithoutGpu) {
#ifdef CROPMAP_WITH_NCCL
  if (torch::cuda::device_count() > 0) GTEST_SKIP() << "a GPU is visible; the refusal cannot be tested here";
  try {
    makeAllreduceBackend("nccl", AllreduceOptions{});
    FAIL() << "nccl backend constructed without a GPU";
  } catch (const UsageError& e) {
    const std::string m = e.what();
    EXPECT_NE(m.find("needs a visible CUDA GPU"), std::string::npos) << m;
    EXPECT_NE(m.find("use train.backend: mpi"), std::string::npos) << m;
  }
#else
  try {
    makeAllreduceBackend("nccl", AllreduceOptions{});
    FAIL() << "nccl backend constructed in a build without NCCL";
  } catch (const UsageError& e) {
    EXPECT_NE(std::string(e.what()).find("use train.backend: mpi"), std::string::npos) << e.what();
  }
#endif
}

std::vector<torch::Tensor> floatBuffersOf(torch::nn::Module& m) {
  std::vector<torch::Tensor> out;
  for (auto& b : m.buffers())
    if (b.is_floating_point()) out.push_back(b);
  return out;
}

ModelSpec smallSpec(const std::string& name, double dropout) {
  ModelSpec spec;
  spec.name = name;
  spec.bands = 4;
  spec.periods = 6;
  spec.classes = 3;
  spec.hidden = {16, 8};
  spec.dropout = dropout;
  return spec;
}

// Each rank trains on its own data; after every step the replicas must hold
// exactly the same bytes (parameters and batch-norm statistics).
class Replicas : public ::testing::TestWithParam<std::tuple<std::string, bool>> {};

TEST_P(Replicas, StayBitIdenticalAfterSteps) {
  torch::set_num_threads(1);
  const auto [name, overlap] = GetParam();
  const ModelSpec spec = smallSpec(name, 0.2);
  // Different initial weights on every rank: the broadcast must fix that.
  torch::manual_seed(100 + static_cast<std::uint64_t>(worldRank()));
  auto model = makeModel(spec);
  // Buckets of 1 KB: several per model, so overlap really starts them during backward.
  auto backend = makeAllreduceBackend("mpi", AllreduceOptions{MPI_COMM_WORLD, 1.0 / 1024, overlap});
  std::vector<torch::Tensor> state;
  for (auto& p : model->parameters()) state.push_back(p.data());
  const auto buffers = floatBuffersOf(*model);
  state.insert(state.end(), buffers.begin(), buffers.end());
  if (worldSize() > 1) {
    EXPECT_FALSE(sameAsRankZero(state));
  }
  {
    torch::NoGradGuard g;
    backend->broadcast(state, 0);
  }
  ASSERT_TRUE(sameAsRankZero(state));
  auto before = state[0].clone();

  GradientReducer reducer(model->parameters(), buffers, *backend);
  EXPECT_GT(reducer.buckets(), 2);
  torch::optim::AdamW opt(model->parameters(), torch::optim::AdamWOptions(1e-2));
  LossSpec loss;
  loss.kind = spec.name == "earlyrnn" ? "early_reward" : "ce";
  model->train();
  for (int step = 0; step < 5; ++step) {
    auto x = torch::randn({8, spec.periods, spec.bands});  // different per rank (seeded by rank)
    auto y = torch::randint(spec.classes, {8}, torch::kLong);
    reducer.zeroGrad();
    auto l = computeLoss(model->forward(x), y, loss);
    // Overlapped runs pre-scale the loss, blocking ones let reduce() divide: both average.
    (overlap ? reducer.scaleLoss(l) : l).backward();
    if (step == 0 && worldSize() > 1 && !overlap) {
      std::vector<torch::Tensor> local;
      for (auto& p : model->parameters()) local.push_back(p.grad());
      EXPECT_FALSE(sameAsRankZero(local)) << "local gradients should differ";
    }
    reducer.reduce();
    if (overlap) {
      EXPECT_EQ(reducer.bucketsStartedEarly(), reducer.buckets()) << "every bucket should start during backward";
    } else {
      EXPECT_EQ(reducer.bucketsStartedEarly(), 0);
    }
    opt.step();
    ASSERT_TRUE(sameAsRankZero(state)) << spec.name << ": replicas diverged at step " << step;
  }
  EXPECT_FALSE(torch::equal(before, state[0])) << "training did not change the weights";
}

INSTANTIATE_TEST_SUITE_P(Models, Replicas,
                         ::testing::Combine(::testing::Values("lstm", "earlyrnn", "tempcnn"), ::testing::Bool()),
                         [](const auto& info) {
                           return std::get<0>(info.param) + (std::get<1>(info.param) ? "_overlap" : "_blocking");
                         });

// The reducer's averages equal the mean of each rank's own gradients, taken
// with plain autograd and averaged by allreduceMean (tested against hand sums
// above), for every bucket size and with or without overlap.
class ReducerAverages : public ::testing::TestWithParam<std::tuple<std::string, bool, double>> {};

TEST_P(ReducerAverages, EqualMeanOfLocalGradients) {
  torch::set_num_threads(1);
  const auto [name, overlap, bucketMb] = GetParam();
  const ModelSpec spec = smallSpec(name, 0.0);  // no dropout: two forward passes give the same graph
  torch::manual_seed(7);
  auto model = makeModel(spec);
  model->train();
  torch::manual_seed(1000 + static_cast<std::uint64_t>(worldRank()));
  auto x = torch::randn({6, spec.periods, spec.bands});
  auto y = torch::randint(spec.classes, {6}, torch::kLong);
  LossSpec loss;
  loss.kind = spec.name == "earlyrnn" ? "early_reward" : "ce";
  auto params = model->parameters();

  auto backend = makeAllreduceBackend("mpi", AllreduceOptions{MPI_COMM_WORLD, bucketMb, overlap});
  computeLoss(model->forward(x), y, loss).backward();
  std::vector<torch::Tensor> expected;
  for (auto& p : params) expected.push_back(p.grad().clone());
  backend->allreduceMean(expected);
  for (auto& p : params) p.mutable_grad() = torch::Tensor();

  GradientReducer reducer(params, floatBuffersOf(*model), *backend);
  EXPECT_EQ(reducer.bytes() % sizeof(float), 0u);
  // Round 0 lets reduce() divide the sums; round 1 (reusing the zeroed windows)
  // divides the loss by the rank count before backward instead.
  for (int round = 0; round < 2; ++round) {
    reducer.zeroGrad();
    auto l = computeLoss(model->forward(x), y, loss);
    (round == 1 ? reducer.scaleLoss(l) : l).backward();
    reducer.reduce();
    for (size_t i = 0; i < params.size(); ++i)
      ASSERT_TRUE(torch::allclose(params[i].grad(), expected[i], 1e-6, 1e-7))
          << name << " parameter " << i << " round " << round << ": max difference "
          << (params[i].grad() - expected[i]).abs().max().item<float>();
  }
}

INSTANTIATE_TEST_SUITE_P(Buckets, ReducerAverages,
                         ::testing::Combine(::testing::Values("lstm", "earlyrnn", "tempcnn"), ::testing::Bool(),
                                            ::testing::Values(64.0 / (1024 * 1024), 25.0)),
                         [](const auto& info) {
                           return std::get<0>(info.param) + (std::get<1>(info.param) ? "_overlap" : "_blocking") +
                                  (std::get<2>(info.param) < 1 ? "_tiny_buckets" : "_one_bucket");
                         });

// A parameter that backward never reaches must not stall the overlapped buckets
// forever: they start in index order, so its bucket holds back the others until
// reduce() starts them all; its averaged gradient is zero.
TEST(GradientReducer, UnusedParameterAndReplacedGradient) {
  torch::set_num_threads(1);
  torch::nn::Linear used(5, 3), unused(4, 4);
  std::vector<torch::Tensor> params = used->parameters();
  for (auto& p : unused->parameters()) params.push_back(p);
  {
    auto backend = makeAllreduceBackend("mpi", AllreduceOptions{});
    torch::NoGradGuard g;
    backend->broadcast(params, 0);
  }
  // 64-byte buckets, filled from the last parameter: unused bias (4 floats) |
  // unused weight (16) | used bias (3) | used weight (15).
  auto backend = makeAllreduceBackend("mpi", AllreduceOptions{MPI_COMM_WORLD, 64.0 / (1024 * 1024), true});
  GradientReducer reducer(params, {}, *backend);
  EXPECT_EQ(reducer.buckets(), 4);
  auto x = torch::full({2, 5}, static_cast<float>(worldRank() + 1));
  reducer.zeroGrad();
  used->forward(x).sum().backward();
  reducer.reduce();
  EXPECT_EQ(reducer.bucketsStartedEarly(), 0) << "bucket 0 never completes, so none may start before reduce()";
  EXPECT_TRUE(torch::equal(unused->weight.grad(), torch::zeros({4, 4})));
  // d(sum)/dW = column sums of x: 2 * (rank + 1) on each rank; averaged: size + 1.
  const float meanW = static_cast<float>(worldSize() + 1);
  EXPECT_TRUE(torch::equal(used->weight.grad(), torch::full({3, 5}, meanW)));
  EXPECT_TRUE(torch::equal(used->bias.grad(), torch::full({3}, 2.0f)));

  // An optimiser's zero_grad() keeps the windows usable; a gradient replaced by
  // a new tensor is copied back into its window and averaged like the others.
  torch::optim::SGD sgd(params, torch::optim::SGDOptions(0.1));
  sgd.zero_grad();
  reducer.zeroGrad();
  used->forward(x).sum().backward();
  used->bias.mutable_grad() = torch::full({3}, static_cast<float>(worldRank()));
  reducer.reduce();
  EXPECT_TRUE(torch::equal(used->bias.grad(), torch::full({3}, static_cast<float>(worldSize() - 1) / 2.0f)));
  EXPECT_TRUE(torch::equal(used->weight.grad(), torch::full({3, 5}, meanW)));
  EXPECT_TRUE(torch::equal(unused->bias.grad(), torch::zeros({4})));

  // A gradient dropped to undefined gets its window back: the optimiser of
  // every rank then sees the same averaged gradient.
  reducer.zeroGrad();
  used->forward(x).sum().backward();
  unused->weight.mutable_grad() = torch::Tensor();
  reducer.reduce();
  ASSERT_TRUE(unused->weight.grad().defined());
  EXPECT_TRUE(torch::equal(unused->weight.grad(), torch::zeros({4, 4})));
  EXPECT_TRUE(torch::equal(used->weight.grad(), torch::full({3, 5}, meanW)));
}

TEST(Models, EveryModelOfTheTableHasAFactory) {
  for (const auto& k : modelKinds()) EXPECT_EQ(hasFactory(k.name), k.engine == "torch") << k.name;
}

TEST(Models, UnknownModelIsAUsageError) {
  ModelSpec spec;
  spec.name = "transformer";
  spec.bands = 2;
  spec.periods = 3;
  spec.classes = 2;
  try {
    makeModel(spec);
    FAIL();
  } catch (const UsageError& e) {
    EXPECT_NE(std::string(e.what()).find("tempcnn|lstm|earlyrnn"), std::string::npos) << e.what();
  }
}

TEST(Models, EarlyRnnStopsAtFirstConfidentStep) {
  ModelOutput out;
  // Two samples, four steps, two classes.
  out.stopProbs = torch::tensor({0.1f, 0.7f, 0.9f, 0.2f, 0.1f, 0.2f, 0.3f, 0.4f}).view({2, 4});
  out.stepLogProbs = torch::log(torch::tensor({0.9f, 0.1f, 0.2f, 0.8f, 0.9f, 0.1f, 0.9f, 0.1f,  //
                                               0.9f, 0.1f, 0.9f, 0.1f, 0.9f, 0.1f, 0.3f, 0.7f})
                                    .view({2, 4, 2}));
  out.logProbs = out.stepLogProbs.select(1, -1);
  auto p = predict(out);
  EXPECT_EQ(p.stopStep[0].item<std::int64_t>(), 1);  // first step with d >= 0.5
  EXPECT_EQ(p.classes[0].item<std::int64_t>(), 1);   // the class at that step
  EXPECT_EQ(p.stopStep[1].item<std::int64_t>(), 3);  // never confident: the last step
  EXPECT_EQ(p.classes[1].item<std::int64_t>(), 1);
}

TEST(Models, EarlyRewardLossTradesAccuracyForEarliness) {
  // A sample classified correctly everywhere: stopping early must lower the
  // loss when alpha < 1 (earliness pays) and not matter when alpha = 1 and epsilon = 0.
  ModelOutput early, late;
  auto logp = torch::log(torch::tensor({0.9f, 0.1f}).repeat({1, 4, 1}));
  early.stepLogProbs = late.stepLogProbs = logp;
  early.logProbs = late.logProbs = logp.select(1, -1);
  early.stopProbs = torch::tensor({0.99f, 0.5f, 0.5f, 0.5f}).view({1, 4});
  late.stopProbs = torch::tensor({0.01f, 0.01f, 0.01f, 0.5f}).view({1, 4});
  auto y = torch::zeros({1}, torch::kLong);
  LossSpec l;
  l.kind = "early_reward";
  l.alpha = 0.5;
  l.epsilon = 0;
  EXPECT_LT(computeLoss(early, y, l).item<double>(), computeLoss(late, y, l).item<double>());
  l.alpha = 1.0;
  EXPECT_NEAR(computeLoss(early, y, l).item<double>(), computeLoss(late, y, l).item<double>(), 1e-6);
  EXPECT_NEAR(computeLoss(early, y, l).item<double>(), -std::log(0.9), 1e-6);
}
