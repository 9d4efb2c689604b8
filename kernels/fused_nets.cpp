#include "fused_nets.hpp"

#include <cblas.h>
#include <immintrin.h>
#include <omp.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cassert>
#include <chrono>
#include <cmath>
#include <stdexcept>

// OpenBLAS's own entry points (not part of the CBLAS header): the fused path
// splits work across its threads itself, so each GEMM runs on the calling thread.
extern "C" {
void openblas_set_num_threads(int);
int openblas_get_num_threads(void);
char* openblas_get_corename(void);
}

// Element-wise passes: one clone per instruction set, chosen by the loader (ifunc).
#define CROPMAP_CLONES __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#define CROPMAP_INLINE inline __attribute__((always_inline))

namespace cropmap::fused {

namespace {

// exp(x) as 2^n * e^r, |r| <= ln2/2, with a degree-6 polynomial (relative error
// ~1e-7): branch-free, so the compiler vectorises the loops that call it.
CROPMAP_INLINE float expApprox(float x) {
  x = std::min(std::max(x, -87.0f), 88.0f);
  // Round to nearest by the 1.5 * 2^23 trick: plain arithmetic, no libm call.
  const float n = (x * 1.44269504088896341f + 12582912.0f) - 12582912.0f;
  const float r = x - n * 0.693145751953125f - n * 1.428606765330187e-06f;
  float p = 1.0f / 720.0f;
  p = p * r + 1.0f / 120.0f;
  p = p * r + 1.0f / 24.0f;
  p = p * r + 1.0f / 6.0f;
  p = p * r + 0.5f;
  p = p * r + 1.0f;
  p = p * r + 1.0f;
  const auto e = static_cast<std::int32_t>(n) + 127;
  return p * __builtin_bit_cast(float, e << 23);
}
CROPMAP_INLINE float sigmoidApprox(float x) { return 1.0f / (1.0f + expApprox(-x)); }
CROPMAP_INLINE float tanhApprox(float x) { return 2.0f / (1.0f + expApprox(-2.0f * x)) - 1.0f; }

// One pixel, one step: pre = the four gate pre-activations (bias not yet
// added); updates the cell c and writes the hidden state h.
CROPMAP_CLONES void lstmGates(const float* __restrict pre, const float* __restrict bias, float* __restrict c,
                              float* __restrict h, int H) {
  const float* pi = pre;
  const float* pf = pre + H;
  const float* pg = pre + 2 * H;
  const float* po = pre + 3 * H;
  const float* bi = bias;
  const float* bf = bias + H;
  const float* bg = bias + 2 * H;
  const float* bo = bias + 3 * H;
  for (int j = 0; j < H; ++j) {
    const float i = sigmoidApprox(pi[j] + bi[j]);
    const float f = sigmoidApprox(pf[j] + bf[j]);
    const float g = tanhApprox(pg[j] + bg[j]);
    const float o = sigmoidApprox(po[j] + bo[j]);
    const float cell = f * c[j] + i * g;
    c[j] = cell;
    h[j] = o * tanhApprox(cell);
  }
}

// rows x cols values: v = max(0, v + bias[period-dependent or not]).
CROPMAP_CLONES void biasRelu(float* __restrict v, const float* __restrict bias, std::int64_t rows, int cols) {
  for (std::int64_t r = 0; r < rows; ++r) {
    float* row = v + r * cols;
    for (int j = 0; j < cols; ++j) row[j] = std::max(0.0f, row[j] + bias[j]);
  }
}

// AVX-512 GEMM microkernel: C[R x 32] (+)= A[R x K] * B[K x 32] for one
// panel of 32 columns (cols of them valid), R <= 12 rows, accumulators in 24
// of the 32 registers. B is read in place (the weights, row-major): a panel of K rows of
// 128 bytes stays in L1 while every row block of A streams past it.
template <int R>
__attribute__((target("avx512f"))) void panel512(int K, const float* A, int lda, const float* B, int ldb, float* C,
                                                 int ldc, bool accumulate, __mmask16 lo, __mmask16 hi) {
  __m512 acc[R][2];
#pragma GCC unroll 12
  for (int r = 0; r < R; ++r) {
    acc[r][0] = accumulate ? _mm512_maskz_loadu_ps(lo, C + r * ldc) : _mm512_setzero_ps();
    acc[r][1] = accumulate ? _mm512_maskz_loadu_ps(hi, C + r * ldc + 16) : _mm512_setzero_ps();
  }
  for (int k = 0; k < K; ++k) {
    const __m512 b0 = _mm512_maskz_loadu_ps(lo, B + static_cast<std::ptrdiff_t>(k) * ldb);
    const __m512 b1 = _mm512_maskz_loadu_ps(hi, B + static_cast<std::ptrdiff_t>(k) * ldb + 16);
#pragma GCC unroll 12
    for (int r = 0; r < R; ++r) {
      const __m512 a = _mm512_set1_ps(A[static_cast<std::ptrdiff_t>(r) * lda + k]);
      acc[r][0] = _mm512_fmadd_ps(a, b0, acc[r][0]);
      acc[r][1] = _mm512_fmadd_ps(a, b1, acc[r][1]);
    }
  }
#pragma GCC unroll 12
  for (int r = 0; r < R; ++r) {
    _mm512_mask_storeu_ps(C + r * ldc, lo, acc[r][0]);
    _mm512_mask_storeu_ps(C + r * ldc + 16, hi, acc[r][1]);
  }
}

__attribute__((target("avx512f"))) void gemm512(int M, int N, int K, const float* A, int lda, const float* B, int ldb,
                                                float* C, int ldc, bool accumulate) {
  using Panel = void (*)(int, const float*, int, const float*, int, float*, int, bool, __mmask16, __mmask16);
  static constexpr Panel kPanels[13] = {nullptr,      panel512<1>,  panel512<2>,  panel512<3>, panel512<4>,
                                        panel512<5>,  panel512<6>,  panel512<7>,  panel512<8>, panel512<9>,
                                        panel512<10>, panel512<11>, panel512<12>};
  // Blocks of 72 rows of A (stay in L2) sweep every panel of B (stays in L1
  // while the block's 12-row strips pass); a whole tall A re-read per panel
  // would come from memory.
  constexpr int kStrip = 12, kBlockRows = 6 * kStrip;
  for (int i0 = 0; i0 < M; i0 += kBlockRows)
    for (int j = 0; j < N; j += 32) {
      const int cols = std::min(32, N - j);
      const auto lo = static_cast<__mmask16>(cols >= 16 ? 0xFFFF : (1u << cols) - 1);
      const auto hi = static_cast<__mmask16>(cols >= 32 ? 0xFFFF : cols > 16 ? (1u << (cols - 16)) - 1 : 0);
      for (int i = i0; i < std::min(M, i0 + kBlockRows); i += kStrip) {
        const int rows = std::min(kStrip, M - i);
        kPanels[rows](K, A + static_cast<std::ptrdiff_t>(i) * lda, lda, B + j, ldb,
                      C + static_cast<std::ptrdiff_t>(i) * ldc + j, ldc, accumulate, lo, hi);
      }
    }
}

std::atomic<bool> blasOnly{false};

bool hasAvx512() {
  static const bool yes = [] {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") != 0;
  }();
  return yes && !blasOnly.load(std::memory_order_relaxed);
}

// C = A * B (beta 0) or C += A * B (beta 1), row-major: the AVX-512
// microkernel where the CPU has it, the BLAS otherwise.
void gemm(int M, int N, int K, const float* A, int lda, const float* B, int ldb, float* C, int ldc, float beta) {
  if (hasAvx512()) return gemm512(M, N, K, A, lda, B, ldb, C, ldc, beta != 0.0f);
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, M, N, K, 1.0f, A, lda, B, ldb, beta, C, ldc);
}

// Argmax (the first maximum, as torch's argmax) and its softmax probability.
void decide(const float* logits, const float* bias, int K, std::int32_t& cls, float& prob) {
  int best = 0;
  float top = logits[0] + bias[0];
  for (int k = 1; k < K; ++k) {
    const float v = logits[k] + bias[k];
    if (v > top) top = v, best = k;
  }
  float sum = 0;
  for (int k = 0; k < K; ++k) sum += std::exp(logits[k] + bias[k] - top);
  cls = best;
  prob = 1.0f / sum;
}

int widestLstm(const FusedNet& net) {
  int h = 0;
  for (const auto& l : net.lstm) h = std::max(h, l.hidden);
  return h;
}
int widestConv(const FusedNet& net) {
  int c = net.bands;
  for (const auto& cv : net.convs) c = std::max({c, cv.out, cv.in});
  return c;
}
int widestKernel(const FusedNet& net) {
  int k = 1;
  for (const auto& cv : net.convs) k = std::max(k, cv.kernel);
  return k;
}

// The scratch of one thread, sized once per call for chunks of `rows` pixels.
struct Scratch {
  std::vector<float> g, ha, hb, c, z, im, logits;
  Scratch(const FusedNet& net, int rows) {
    const std::int64_t m = rows, T = net.periods;
    const std::int64_t outs = net.head.out;
    if (net.kind == NetKind::TempCnn) {
      const std::int64_t C = widestConv(net), K = widestKernel(net);
      im.resize(static_cast<size_t>(m * T * K * C));
      ha.resize(static_cast<size_t>(m * T * C));
      hb.resize(static_cast<size_t>(m * T * C));
      g.resize(static_cast<size_t>(m * net.dense.out));
      logits.resize(static_cast<size_t>(m * outs));
      return;
    }
    const std::int64_t H = widestLstm(net);
    g.resize(static_cast<size_t>(m * T * 4 * H));
    ha.resize(static_cast<size_t>(m * T * H));
    hb.resize(static_cast<size_t>(m * T * H));
    c.resize(static_cast<size_t>(m * H));
    if (net.kind == NetKind::EarlyRnn) z.resize(static_cast<size_t>(m * T * net.bands));
    logits.resize(static_cast<size_t>(m * (net.kind == NetKind::EarlyRnn ? T : 1) * outs));
  }
};

// Runs the LSTM stack over m pixels whose inputs are X [m][T][layer-0 in];
// returns the last layer's hidden states [m][T][H].
const float* lstmStack(const FusedNet& net, const float* X, int m, Scratch& s) {
  const int T = net.periods;
  float* out = s.ha.data();
  float* spare = s.hb.data();
  for (const auto& L : net.lstm) {
    const int H = L.hidden, G4 = 4 * H;
    float* g = s.g.data();
    gemm(m * T, G4, L.in, X, L.in, L.wx.data(), G4, g, G4, 0.0f);
    std::fill(s.c.begin(), s.c.begin() + static_cast<std::ptrdiff_t>(m) * H, 0.0f);
    for (int t = 0; t < T; ++t) {
      float* gt = g + static_cast<std::ptrdiff_t>(t) * G4;
      if (t > 0)
        gemm(m, G4, H, out + static_cast<std::ptrdiff_t>(t - 1) * H, T * H, L.wh.data(), G4, gt, T * G4, 1.0f);
      for (int r = 0; r < m; ++r)
        lstmGates(gt + static_cast<std::ptrdiff_t>(r) * T * G4, L.b.data(), s.c.data() + static_cast<std::ptrdiff_t>(r) * H,
                  out + (static_cast<std::ptrdiff_t>(r) * T + t) * H, H);
    }
    X = out;
    std::swap(out, spare);
  }
  return X;
}

void runLstm(const FusedNet& net, const float* x, int m, Scratch& s, const Decisions& d, std::int64_t at) {
  const int T = net.periods, H = net.lstm.back().hidden, K = net.head.out;
  const float* h = lstmStack(net, x, m, s);
  gemm(m, K, H, h + static_cast<std::ptrdiff_t>(T - 1) * H, T * H, net.head.w.data(), K, s.logits.data(), K, 0.0f);
  for (int r = 0; r < m; ++r) {
    decide(s.logits.data() + static_cast<std::ptrdiff_t>(r) * K, net.head.b.data(), K, d.cls[at + r], d.prob[at + r]);
    if (d.stop) d.stop[at + r] = 0;
  }
}

void runEarlyRnn(const FusedNet& net, const float* x, int m, Scratch& s, const Decisions& d, std::int64_t at) {
  const int T = net.periods, B = net.bands, H = net.lstm.back().hidden, K1 = net.head.out, K = K1 - 1;
  // Normalisation with the band statistics, then the layer norm over bands
  // (its affine part lives in the first projection).
  for (std::int64_t i = 0; i < static_cast<std::int64_t>(m) * T; ++i) {
    const float* xi = x + i * B;
    float* zi = s.z.data() + i * B;
    float mu = 0;
    for (int b = 0; b < B; ++b) mu += zi[b] = (xi[b] - net.mean[static_cast<size_t>(b)]) * net.scale[static_cast<size_t>(b)];
    mu /= static_cast<float>(B);
    float var = 0;
    for (int b = 0; b < B; ++b) var += (zi[b] - mu) * (zi[b] - mu);
    const float inv = 1.0f / std::sqrt(var / static_cast<float>(B) + net.lnEps);
    for (int b = 0; b < B; ++b) zi[b] = (zi[b] - mu) * inv;
  }
  const float* h = lstmStack(net, s.z.data(), m, s);
  gemm(m * T, K1, H, h, H, net.head.w.data(), K1, s.logits.data(), K1, 0.0f);
  const float stopBias = net.head.b[static_cast<size_t>(K)];
  for (int r = 0; r < m; ++r) {
    int t = 0;
    for (; t < T - 1; ++t) {
      const float logit = s.logits[(static_cast<size_t>(r) * T + static_cast<size_t>(t)) * K1 + K] + stopBias;
      if (1.0f / (1.0f + std::exp(-logit)) >= 0.5f) break;
    }
    decide(s.logits.data() + (static_cast<std::ptrdiff_t>(r) * T + t) * K1, net.head.b.data(), K, d.cls[at + r],
           d.prob[at + r]);
    if (d.stop) d.stop[at + r] = t;
  }
}

void runTempCnn(const FusedNet& net, const float* x, int m, Scratch& s, const Decisions& d, std::int64_t at) {
  const int T = net.periods, K = net.head.out;
  const float* X = x;
  int C = net.bands;
  float* out = s.ha.data();
  float* spare = s.hb.data();
  for (const auto& cv : net.convs) {
    const int width = cv.kernel * C, pad = cv.kernel / 2;
    // im2col: row (pixel, t) holds periods t-pad .. t+pad, zeros outside the series.
    for (int r = 0; r < m; ++r)
      for (int t = 0; t < T; ++t) {
        float* row = s.im.data() + (static_cast<std::ptrdiff_t>(r) * T + t) * width;
        for (int k = 0; k < cv.kernel; ++k) {
          const int tt = t + k - pad;
          float* dst = row + k * C;
          if (tt < 0 || tt >= T) std::fill(dst, dst + C, 0.0f);
          else std::copy_n(X + (static_cast<std::ptrdiff_t>(r) * T + tt) * C, C, dst);
        }
      }
    gemm(m * T, cv.out, width, s.im.data(), width, cv.w.data(), cv.out, out, cv.out, 0.0f);
    // The bias is per period: each pixel's [T][out] rows take the whole table.
    for (int r = 0; r < m; ++r) biasRelu(out + static_cast<std::ptrdiff_t>(r) * T * cv.out, cv.bias.data(), 1, T * cv.out);
    X = out;
    C = cv.out;
    std::swap(out, spare);
  }
  const int D = net.dense.out;
  gemm(m, D, T * C, X, T * C, net.dense.w.data(), D, s.g.data(), D, 0.0f);
  biasRelu(s.g.data(), net.dense.b.data(), m, D);
  gemm(m, K, D, s.g.data(), D, net.head.w.data(), K, s.logits.data(), K, 0.0f);
  for (int r = 0; r < m; ++r) {
    decide(s.logits.data() + static_cast<std::ptrdiff_t>(r) * K, net.head.b.data(), K, d.cls[at + r], d.prob[at + r]);
    if (d.stop) d.stop[at + r] = 0;
  }
}

}  // namespace

double FusedNet::flopsPerPixel() const {
  const double T = periods;
  double f = 0;
  if (kind == NetKind::TempCnn) {
    for (const auto& cv : convs) f += 2.0 * T * cv.kernel * cv.in * cv.out;
    f += 2.0 * dense.in * dense.out + 2.0 * head.in * head.out;
    return f;
  }
  for (const auto& l : lstm) f += 2.0 * T * l.in * 4 * l.hidden + 2.0 * (T - 1) * l.hidden * 4 * l.hidden;
  f += 2.0 * head.in * head.out * (kind == NetKind::EarlyRnn ? T : 1.0);
  return f;
}

std::int64_t FusedNet::workingSetBytes(int rows) const {
  Scratch s(*this, 1);
  const std::int64_t perRow = static_cast<std::int64_t>(s.g.size() + s.ha.size() + s.hb.size() + s.c.size() +
                                                        s.z.size() + s.im.size() + s.logits.size()) +
                              static_cast<std::int64_t>(periods) * bands;
  return perRow * rows * static_cast<std::int64_t>(sizeof(float));
}

void FusedNet::check() const {
  auto need = [](bool ok, const std::string& what) {
    if (!ok) throw std::invalid_argument("fused net: " + what);
  };
  auto dense = [&](const Dense& d, const char* name) {
    need(d.in > 0 && d.out > 0 && d.w.size() == static_cast<size_t>(d.in) * static_cast<size_t>(d.out) &&
             d.b.size() == static_cast<size_t>(d.out),
         std::string(name) + " weights do not match its shape");
  };
  need(periods > 0 && bands > 0 && classes > 1, "needs periods, bands > 0 and two classes");
  if (kind == NetKind::TempCnn) {
    need(!convs.empty(), "tempcnn without convolutions");
    int c = bands;
    for (const auto& cv : convs) {
      need(cv.in == c && cv.kernel > 0 && cv.kernel % 2 == 1 &&
               cv.w.size() == static_cast<size_t>(cv.kernel) * static_cast<size_t>(cv.in) * static_cast<size_t>(cv.out) &&
               cv.bias.size() == static_cast<size_t>(periods) * static_cast<size_t>(cv.out),
           "convolution weights do not match their shapes");
      c = cv.out;
    }
    dense(this->dense, "dense");
    need(this->dense.in == c * periods, "dense input is not periods x channels");
    dense(head, "head");
    need(head.in == this->dense.out && head.out == classes, "head does not match the dense layer and classes");
    return;
  }
  need(!lstm.empty(), "no LSTM layers");
  int in = bands;
  for (const auto& l : lstm) {
    const auto G4 = static_cast<size_t>(4 * l.hidden);
    need(l.in == in && l.hidden > 0 && l.wx.size() == static_cast<size_t>(l.in) * G4 &&
             l.wh.size() == static_cast<size_t>(l.hidden) * G4 && l.b.size() == G4,
         "LSTM weights do not match their shapes");
    in = l.hidden;
  }
  dense(head, "head");
  need(head.in == in && head.out == classes + (kind == NetKind::EarlyRnn ? 1 : 0), "head does not match");
  if (kind == NetKind::EarlyRnn)
    need(mean.size() == static_cast<size_t>(bands) && scale.size() == static_cast<size_t>(bands),
         "earlyrnn needs band mean and scale");
}

void runNet(const FusedNet& net, const float* x, std::int64_t n, int rows, int threads, const Decisions& out) {
  assert(rows >= 1 && threads >= 1 && out.cls && out.prob);
  if (n <= 0) return;
  const std::int64_t chunks = (n + rows - 1) / rows;
  const int team = static_cast<int>(std::min<std::int64_t>(threads, chunks));
  const int blasThreads = openblas_get_num_threads();
  openblas_set_num_threads(1);
  const std::int64_t cell = static_cast<std::int64_t>(net.periods) * net.bands;
#pragma omp parallel num_threads(team)
  {
    // Flush denormals: decaying LSTM states and small ReLU inputs otherwise hit
    // the slow microcode path and make the rate depend on the data.
    const unsigned csr = _mm_getcsr();
    _mm_setcsr(csr | 0x8040u);
    Scratch s(net, rows);
#pragma omp for schedule(dynamic, 1)
    for (std::int64_t c = 0; c < chunks; ++c) {
      const std::int64_t at = c * rows;
      const int m = static_cast<int>(std::min<std::int64_t>(rows, n - at));
      const float* xc = x + at * cell;
      switch (net.kind) {
        case NetKind::Lstm: runLstm(net, xc, m, s, out, at); break;
        case NetKind::EarlyRnn: runEarlyRnn(net, xc, m, s, out, at); break;
        case NetKind::TempCnn: runTempCnn(net, xc, m, s, out, at); break;
      }
    }
    _mm_setcsr(csr);
  }
  openblas_set_num_threads(blasThreads);
}

int measureBestRows(const FusedNet& net, const std::vector<int>& candidates) {
  assert(!candidates.empty());
  const int most = *std::max_element(candidates.begin(), candidates.end());
  const std::int64_t n = std::max(256, most), cell = static_cast<std::int64_t>(net.periods) * net.bands;
  std::vector<float> x(static_cast<size_t>(n * cell));
  std::uint32_t state = 12345;
  for (auto& v : x) {
    state = state * 1664525u + 1013904223u;
    v = static_cast<float>(state >> 8) / static_cast<float>(1u << 24);
  }
  std::vector<std::int32_t> cls(static_cast<size_t>(n)), stop(static_cast<size_t>(n));
  std::vector<float> prob(static_cast<size_t>(n));
  const Decisions d{cls.data(), prob.data(), stop.data()};
  using Clock = std::chrono::steady_clock;
  runNet(net, x.data(), n, candidates.front(), 1, d);
  // Two rounds, the best time of each size: a shared core's noise only slows runs down.
  std::vector<double> best(candidates.size(), 0.0);
  for (int round = 0; round < 2; ++round)
    for (size_t i = 0; i < candidates.size(); ++i) {
      const auto t0 = Clock::now();
      runNet(net, x.data(), n, candidates[i], 1, d);
      const double dt = std::chrono::duration<double>(Clock::now() - t0).count();
      if (best[i] == 0 || dt < best[i]) best[i] = dt;
    }
  return candidates[static_cast<size_t>(std::min_element(best.begin(), best.end()) - best.begin())];
}

std::string elementwiseIsa() {
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") && __builtin_cpu_supports("avx512vl") &&
      __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512cd"))
    return "avx512";
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return "avx2";
  return "baseline";
}

void setBlasThreads(int threads) { openblas_set_num_threads(std::max(1, threads)); }

void useBlasOnly(bool on) { blasOnly = on; }

std::string gemmPath() { return hasAvx512() ? "AVX-512 microkernel" : blasName(); }

std::string blasName() {
  const char* core = openblas_get_corename();
  return std::string("OpenBLAS ") + (core ? core : "?");
}

namespace {

// Twelve independent FMA chains keep both FMA pipes busy despite their latency.
__attribute__((target("avx512f"))) float fma512Loop(long iterations) {
  __m512 acc[12];
  for (int i = 0; i < 12; ++i) acc[i] = _mm512_set1_ps(1.0f + 1e-3f * static_cast<float>(i));
  const __m512 a = _mm512_set1_ps(0.999999f), b = _mm512_set1_ps(1e-7f);
  for (long it = 0; it < iterations; ++it)
    for (int i = 0; i < 12; ++i) acc[i] = _mm512_fmadd_ps(acc[i], a, b);
  __m512 sum = acc[0];
  for (int i = 1; i < 12; ++i) sum = _mm512_add_ps(sum, acc[i]);
  float lanes[16];
  _mm512_storeu_ps(lanes, sum);
  return lanes[0] + lanes[15];
}
__attribute__((target("avx2,fma"))) float fma256Loop(long iterations) {
  __m256 acc[12];
  for (int i = 0; i < 12; ++i) acc[i] = _mm256_set1_ps(1.0f + 1e-3f * static_cast<float>(i));
  const __m256 a = _mm256_set1_ps(0.999999f), b = _mm256_set1_ps(1e-7f);
  for (long it = 0; it < iterations; ++it)
    for (int i = 0; i < 12; ++i) acc[i] = _mm256_fmadd_ps(acc[i], a, b);
  __m256 sum = acc[0];
  for (int i = 1; i < 12; ++i) sum = _mm256_add_ps(sum, acc[i]);
  float lanes[8];
  _mm256_storeu_ps(lanes, sum);
  return lanes[0] + lanes[7];
}

}  // namespace

double measureFmaPeak(double seconds) {
  __builtin_cpu_init();
  const bool wide = __builtin_cpu_supports("avx512f");
  if (!wide && !(__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))) return 0;
  const double flopsPerIter = 12.0 * 2.0 * (wide ? 16 : 8);
  using Clock = std::chrono::steady_clock;
  double best = 0, sink = 0;
  long it = 1 << 16;
  const auto end = Clock::now() + std::chrono::duration<double>(seconds);
  while (Clock::now() < end) {
    const auto t0 = Clock::now();
    sink += wide ? fma512Loop(it) : fma256Loop(it);
    const double dt = std::chrono::duration<double>(Clock::now() - t0).count();
    if (dt > 0) best = std::max(best, flopsPerIter * static_cast<double>(it) / dt);
    if (dt < 0.01) it *= 2;
  }
  if (sink == 12345.678) best += 1;  // keeps the loops' results alive
  return best / 1e9;
}

std::int64_t l2CacheBytes() {
#ifdef _SC_LEVEL2_CACHE_SIZE
  const long v = sysconf(_SC_LEVEL2_CACHE_SIZE);
  if (v > 0) return v;
#endif
  return 0;
}

}  // namespace cropmap::fused
