// The rules of `cropmap split`: which zone a parcel belongs to, and which
// split (train, validation, test) and fold each zone goes to.
//
// Zones are identified by a (region, zone) pair of integers: the attributes of
// a zone polygon, the cell of a regular grid, or (tile, patch) for random
// patches. Every random choice is a hash of the seed and these values, never of
// a position in a list, so that a zone keeps its split when other zones are
// added or the job runs on another number of ranks.
#pragma once

#include <cstdint>
#include <utility>
#include <vector>

namespace cropmap::kernels {

enum SplitCode : std::uint8_t { kSplitNone = 0, kSplitTrain = 1, kSplitVal = 2, kSplitTest = 3 };
const char* splitName(int code);  // "none", "train", "val", "test"

struct ZoneKey {
  std::int64_t region = 0;
  std::int64_t zone = 0;
  bool operator<(const ZoneKey& o) const { return region != o.region ? region < o.region : zone < o.zone; }
  bool operator==(const ZoneKey& o) const { return region == o.region && zone == o.zone; }
};

// A parcel crossing zone borders goes wholly to one zone: the zone holding
// the most of its labelled pixels (over every tile it is labelled on); on a tie
// the lower zone index wins. `counts` holds (zone index, pixels) pairs, a zone
// may appear several times (partial counts are summed). Returns -1 when the
// counts are empty or all zero.
std::int64_t winningZone(std::vector<std::pair<std::int64_t, std::int64_t>> counts);

struct ZoneSplits {
  std::vector<std::uint8_t> split;  // SplitCode per zone
  std::vector<std::int32_t> fold;   // 0..folds-1 for training and validation zones, -1 for test zones
};

// region_holdout: in every region the zones are ordered by hash(seed, region,
// zone); the first `holdout` go to test (all of them if the region has no
// more), then round(valFraction * rest) to validation, the rest to training.
// Training zones, and separately validation zones, are dealt round-robin into
// `folds` folds (0: none), region by region in hash order, so each fold draws
// from every region. Test zones have no fold: cross-validation runs on the
// training and validation zones and leaves the test zones untouched.
ZoneSplits regionHoldout(const std::vector<ZoneKey>& zones, std::uint64_t seed, int holdout, double valFraction,
                         int folds);

// random_patches: zones are patches keyed (tile, patch); per tile they are
// ordered by hash and the first round(ratios[0] * n) go to training, the next
// round(ratios[1] * n) to validation and the rest to test. Folds as above.
ZoneSplits randomPatches(const std::vector<ZoneKey>& zones, std::uint64_t seed, const std::vector<double>& ratios,
                         int folds);

}  // namespace cropmap::kernels
