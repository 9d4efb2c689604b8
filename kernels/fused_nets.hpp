// Fused float32 CPU inference for the seed models (lstm, earlyrnn, tempcnn).
//
// A trained model is exported once into a FusedNet: plain weight arrays laid
// out for row-major GEMMs (x[m][in] * w[in][out]), with batch norm folded into
// the preceding convolution or dense layer, dropout dropped and the input
// normalisation folded into the first layer (lstm: its input projection;
// tempcnn: the first convolution, with a per-period bias so the zero padding
// stays zero in normalised units; earlyrnn normalises inside its layer-norm
// pass and folds the layer-norm affine and the 64-wide embedding into the
// first LSTM's input projection). Running it never allocates per pixel.
//
// Pixels are processed in chunks of `rows` (sized so the chunk's activations
// stay in L2) and the chunks of a call are spread over `threads` threads.
// LSTM: the input projection of all periods of a chunk is one GEMM; each step
// adds h(t-1) * W_hh with one small GEMM straight into the projection rows and
// applies the four gates, cell and hidden update in one vectorised pass.
// TempCNN: each convolution is one GEMM over the chunk's (pixel, period) rows.
// GEMMs run on an AVX-512 microkernel (12 rows x 32 columns of accumulators,
// weights read in place) where the CPU has AVX-512 and on the BLAS otherwise;
// the element-wise passes are compiled for AVX-512, AVX2+FMA and the baseline
// and picked at load time.
//
// The decision rule is the one of the LibTorch path (stages/train/models.hpp,
// predict()): the argmax class of the last period, or for earlyrnn of the
// first period whose stopping probability reaches 0.5; the confidence is the
// softmax probability of that class.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace cropmap::fused {

// y[m][out] = x[m][in] * w[in][out] + b[out]
struct Dense {
  int in = 0, out = 0;
  std::vector<float> w, b;
};

// Gates in LibTorch's order (input, forget, cell, output), each `hidden` wide:
// wx[in][4H], wh[H][4H], b[4H] = b_ih + b_hh.
struct LstmLayer {
  int in = 0, hidden = 0;
  std::vector<float> wx, wh, b;
};

// Convolution over periods with zero padding kernel/2, as a GEMM on im2col
// rows: w[kernel * in][out] (row k*in + c multiplies input period t+k-kernel/2,
// channel c); bias[periods][out] (per period, see the header note).
struct Conv {
  int in = 0, out = 0, kernel = 0;
  std::vector<float> w, bias;
};

enum class NetKind { Lstm, EarlyRnn, TempCnn };

struct FusedNet {
  NetKind kind = NetKind::Lstm;
  int periods = 0, bands = 0, classes = 0;
  // earlyrnn: x -> (x - mean) * scale, then layer norm (no affine) with lnEps.
  std::vector<float> mean, scale;
  float lnEps = 1e-5f;
  std::vector<LstmLayer> lstm;  // lstm, earlyrnn
  std::vector<Conv> convs;      // tempcnn, each followed by ReLU
  Dense dense;                  // tempcnn: flattened [period][channel] -> ReLU
  // lstm, tempcnn: classes outputs; earlyrnn: classes + 1 (the stopping logit
  // last), applied to every period.
  Dense head;

  // Multiply-adds x 2 per pixel of the GEMMs (what GFLOP/s figures count).
  double flopsPerPixel() const;
  // Bytes of activations one thread touches for a chunk of `rows` pixels.
  std::int64_t workingSetBytes(int rows) const;
  // Throws std::invalid_argument when the arrays do not match the shapes.
  void check() const;
};

// Per pixel: class, its probability, and the period the decision was taken at
// (earlyrnn; 0 for the others). stop may be null.
struct Decisions {
  std::int32_t* cls = nullptr;
  float* prob = nullptr;
  std::int32_t* stop = nullptr;
};

// x: [n][periods][bands] physical values (not normalised). rows >= 1,
// threads >= 1. Denormals are flushed to zero in the worker threads for the
// duration of the call (the state is restored).
void runNet(const FusedNet& net, const float* x, std::int64_t n, int rows, int threads, const Decisions& out);

// The fastest chunk size among `candidates` for this net on this core, timed
// on the same synthetic pixels for each (one thread, after one warm-up run).
int measureBestRows(const FusedNet& net, const std::vector<int>& candidates);

// The element-wise code path chosen for this CPU: "avx512", "avx2" or "baseline".
std::string elementwiseIsa();
// Threads the BLAS may use for one call from outside a parallel region. The
// OpenMP build of OpenBLAS otherwise starts one thread per core on its own
// whatever the caller's thread budget, and its spinning threads then fight
// other ranks for the cores (LibTorch's GEMMs go through the same library).
void setBlasThreads(int threads);
// The BLAS and its kernel, e.g. "OpenBLAS Zen".
std::string blasName();
// What the fused GEMMs run on here: "AVX-512 microkernel" or blasName().
std::string gemmPath();
// Route the fused GEMMs to the BLAS even where the microkernel could run (the
// fallback path, testable on any machine).
void useBlasOnly(bool on);
// Peak single-precision FMA throughput of one core, GFLOP/s, measured by a
// register-only loop (independent FMA chains on the widest vectors) for about
// `seconds`.
double measureFmaPeak(double seconds = 0.2);
// L2 cache of one core in bytes (0 when the system does not say).
std::int64_t l2CacheBytes();

}  // namespace cropmap::fused
