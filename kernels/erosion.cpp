#include "erosion.hpp"

#include <algorithm>
#include <cassert>
#include <cstddef>

namespace cropmap::kernels {

std::vector<std::uint8_t> erodeParcels(const std::int64_t* ids, int rows, int cols, int r) {
  assert(rows >= 0 && cols >= 0 && r >= 0);
  const std::size_t n = static_cast<std::size_t>(rows) * static_cast<std::size_t>(cols);
  std::vector<std::uint8_t> keep(n, 0);
  if (n == 0) return keep;
  if (r == 0) {
    for (std::size_t i = 0; i < n; ++i) keep[i] = ids[i] != 0;
    return keep;
  }
  // Separable: first a pixel is "row-uniform" when its row neighbours within r
  // share its id; then it is kept when its column neighbours within r share
  // its id and are row-uniform themselves. Run lengths make each pass O(n).
  std::vector<std::uint8_t> rowUniform(n, 0);
  std::vector<int> left(static_cast<std::size_t>(cols)), right(static_cast<std::size_t>(cols));
  for (int y = 0; y < rows; ++y) {
    const std::int64_t* row = ids + static_cast<std::size_t>(y) * cols;
    // left[x]: equal ids in a run ending at x; right[x]: run starting at x.
    for (int x = 0; x < cols; ++x) left[x] = (x > 0 && row[x - 1] == row[x]) ? left[x - 1] + 1 : 1;
    for (int x = cols - 1; x >= 0; --x) right[x] = (x + 1 < cols && row[x + 1] == row[x]) ? right[x + 1] + 1 : 1;
    for (int x = 0; x < cols; ++x) {
      const int needLeft = std::min(r, x) + 1, needRight = std::min(r, cols - 1 - x) + 1;
      rowUniform[static_cast<std::size_t>(y) * cols + x] = row[x] != 0 && left[x] >= needLeft && right[x] >= needRight;
    }
  }
  std::vector<int> up(static_cast<std::size_t>(rows)), down(static_cast<std::size_t>(rows));
  for (int x = 0; x < cols; ++x) {
    auto at = [&](int y) { return static_cast<std::size_t>(y) * cols + x; };
    auto same = [&](int a, int b) { return rowUniform[at(a)] && rowUniform[at(b)] && ids[at(a)] == ids[at(b)]; };
    for (int y = 0; y < rows; ++y) up[y] = !rowUniform[at(y)] ? 0 : (y > 0 && same(y - 1, y)) ? up[y - 1] + 1 : 1;
    for (int y = rows - 1; y >= 0; --y)
      down[y] = !rowUniform[at(y)] ? 0 : (y + 1 < rows && same(y + 1, y)) ? down[y + 1] + 1 : 1;
    for (int y = 0; y < rows; ++y) {
      const int needUp = std::min(r, y) + 1, needDown = std::min(r, rows - 1 - y) + 1;
      keep[at(y)] = up[y] >= needUp && down[y] >= needDown;
    }
  }
  return keep;
}

std::int64_t applyErosion(std::int64_t* ids, int rows, int cols, int r) {
  const auto keep = erodeParcels(ids, rows, cols, r);
  std::int64_t removed = 0;
  for (std::size_t i = 0; i < keep.size(); ++i)
    if (ids[i] != 0 && !keep[i]) {
      ids[i] = 0;
      ++removed;
    }
  return removed;
}

}  // namespace cropmap::kernels
