// Border erosion of rasterized parcels.
//
// A Sentinel-2 pixel on a parcel border mixes the parcel with its neighbour
// (a road, a hedge, another crop), so it is a poor training label. Erosion by
// r pixels keeps a pixel only when every pixel of the (2r+1) x (2r+1) square
// around it belongs to the same parcel. The square (Chebyshev) element is the
// one that removes every pixel whose footprint can touch another parcel after
// sub-pixel misregistration, diagonals included.
//
// The kernels work on a window that carries a halo of r pixels on every side,
// so that a block's result does not depend on where the block borders lie:
// the stage rasterizes the halo too (also beyond the tile edge, where the
// parcel geometry is still known) and keeps the core.
#pragma once

#include <cstdint>
#include <vector>

namespace cropmap::kernels {

// keep[i] = 1 when pixel i of the rows x cols raster `ids` is non-zero and every
// pixel within Chebyshev distance r inside the raster has the same id. Pixels
// closer than r to the raster edge are judged on the part of the square that
// lies inside (callers give a halo of r so the core is never such a pixel).
// r = 0 keeps every non-zero pixel.
std::vector<std::uint8_t> erodeParcels(const std::int64_t* ids, int rows, int cols, int r);

// Convenience for the stage: zero every id that erosion removes, in place, and
// return how many non-zero pixels were removed.
std::int64_t applyErosion(std::int64_t* ids, int rows, int cols, int r);

}  // namespace cropmap::kernels
