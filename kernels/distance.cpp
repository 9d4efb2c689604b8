#include "distance.hpp"

#include <cassert>
#include <cstddef>
#include <limits>

namespace cropmap::kernels {

namespace {
// 1-D squared distance transform of f (length n) into d, using scratch v, z.
void transform1d(const double* f, double* d, int n, std::vector<int>& v, std::vector<double>& z) {
  const double inf = std::numeric_limits<double>::infinity();
  v.resize(static_cast<std::size_t>(n));
  z.resize(static_cast<std::size_t>(n) + 1);
  int k = 0;
  // Skip leading infinite samples: parabolas rooted at infinity never win.
  int first = 0;
  while (first < n && f[first] >= inf) ++first;
  if (first == n) {
    for (int q = 0; q < n; ++q) d[q] = inf;
    return;
  }
  v[0] = first;
  z[0] = -inf;
  z[1] = inf;
  // Only finite samples carry a parabola; z[0] = -inf keeps k >= 0.
  for (int q = first + 1; q < n; ++q) {
    if (f[q] >= inf) continue;
    auto meet = [&](int p) { return ((f[q] + double(q) * q) - (f[p] + double(p) * p)) / (2.0 * (q - p)); };
    double s = meet(v[k]);
    while (s <= z[k]) {
      --k;
      s = meet(v[k]);
    }
    ++k;
    v[k] = q;
    z[k] = s;
    z[k + 1] = inf;
  }
  k = 0;
  for (int q = 0; q < n; ++q) {
    while (z[k + 1] < q) ++k;
    const double dq = q - v[k];
    d[q] = dq * dq + f[v[k]];
  }
}
}  // namespace

std::vector<double> squaredDistanceTo(const std::uint8_t* mask, int rows, int cols) {
  assert(rows >= 0 && cols >= 0);
  const std::size_t n = static_cast<std::size_t>(rows) * static_cast<std::size_t>(cols);
  const double inf = std::numeric_limits<double>::infinity();
  std::vector<double> out(n);
  for (std::size_t i = 0; i < n; ++i) out[i] = mask[i] ? 0.0 : inf;
  std::vector<double> f, d;
  std::vector<int> v;
  std::vector<double> z;
  // Columns, then rows.
  f.resize(static_cast<std::size_t>(rows));
  d.resize(static_cast<std::size_t>(rows));
  for (int x = 0; x < cols; ++x) {
    for (int y = 0; y < rows; ++y) f[y] = out[static_cast<std::size_t>(y) * cols + x];
    transform1d(f.data(), d.data(), rows, v, z);
    for (int y = 0; y < rows; ++y) out[static_cast<std::size_t>(y) * cols + x] = d[y];
  }
  f.resize(static_cast<std::size_t>(cols));
  d.resize(static_cast<std::size_t>(cols));
  for (int y = 0; y < rows; ++y) {
    double* row = out.data() + static_cast<std::size_t>(y) * cols;
    for (int x = 0; x < cols; ++x) f[x] = row[x];
    transform1d(f.data(), d.data(), cols, v, z);
    for (int x = 0; x < cols; ++x) row[x] = d[x];
  }
  const double big = double(rows) * rows + double(cols) * cols + 1.0;
  for (auto& x : out)
    if (!(x < big)) x = big;
  return out;
}

}  // namespace cropmap::kernels
