// `cropmap sample`: stratified training samples from the cube into samples.h5.
//
// Pixel level: a row per selected labelled pixel. Parcel level: a row per
// selected parcel holding, per period, the mean and the median of every band
// over the parcel's pixels in its split (bands "<band>_mean", "<band>_median").
// Per-class counts follow kernels/sampling.hpp (class priors, frequent/rare at
// a percentile, a guaranteed minimum and a damping exponent for training;
// the class distribution of the region for validation and test). A unit is
// selected when its hash of (seed, tile, pixel) or (seed, parcel) is among the
// t_c smallest of its class and split: exact counts, and the same rows in the
// same order whatever the number of ranks. Ranks read only their own blocks
// (contiguous runs of (tile, block) units), so rows land in file order by an
// exclusive prefix sum (MPI_Exscan) of the per-rank row counts.
#pragma once

#include "pipeline/context.hpp"

namespace cropmap {

int runSample(CommandContext& ctx);

}  // namespace cropmap
