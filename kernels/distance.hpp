// Exact Euclidean distance transform on a pixel grid.
//
// The split stage keeps a buffer of split.buffer_m metres around test zones
// free of training and validation pixels; with buffers of hundreds of metres a
// brute-force disk search per pixel is too slow for national runs, so the
// distance to the nearest marked pixel is computed exactly in O(n) with the
// separable lower-envelope algorithm of Felzenszwalb and Huttenlocher (2012).
#pragma once

#include <cstdint>
#include <vector>

namespace cropmap::kernels {

// Squared distance, in pixels, from each pixel of a rows x cols raster to the
// nearest pixel with mask != 0; a large value (> rows^2 + cols^2) when the mask
// is empty.
std::vector<double> squaredDistanceTo(const std::uint8_t* mask, int rows, int cols);

}  // namespace cropmap::kernels
