// `cropmap labels`: the parcel register rasterized onto every tile of the cube.
//
// Per work unit (tile, block) the parcels around the block are read with an
// OGR spatial filter, reprojected to the tile's UTM CRS, rasterized by the
// pixel-centre rule on the block grown by an erosion halo, eroded by
// labels.erosion_px and written into the cube layers `label` (int16, -1 none)
// and `parcel` (int64, 0 none). A parcel crossing tile borders is labelled on
// every tile it covers. Per-parcel outcomes are reduced over blocks and ranks
// into a per-tile summary (parcels and pixels per class, ignored, unknown codes,
// too small, invalid, eroded away), logged and written as labels_summary.json.
// A block stage (scheduler/block_stage.hpp) with a ledger: --resume with
// unchanged labelling settings continues at the first block not labelled and
// recounts the finished blocks' parcels for the summary.
#pragma once

#include <cstdint>
#include <vector>

#include "parcels.hpp"
#include "pipeline/context.hpp"
#include "pipeline/cube.hpp"
#include "scheduler/work_units.hpp"

namespace cropmap {

// One parcel's outcome in one block (only parcels with a pixel centre in the block).
struct ParcelRecord {
  std::int64_t parcel = 0;
  std::uint64_t codeHash = 0;  // of the register code (unknown codes are reported by code)
  std::int64_t before = 0;     // pixels burnt in the block, before erosion
  std::int64_t after = 0;      // pixels labelled after erosion (0 unless labelled)
  std::int32_t tile = 0;
  std::int16_t cls = -1;
  std::uint8_t status = 0;     // ParcelStatus
  std::uint8_t pad = 0;
};

struct BlockLabels {
  std::vector<std::int16_t> label;   // rows x cols, -1 none
  std::vector<std::int64_t> parcel;  // rows x cols, 0 none
  std::vector<ParcelRecord> records;
};

// Labels of one window of a tile (no MPI, no cube: testable on its own).
BlockLabels labelBlock(ParcelSource& source, const TileGrid& tile, int tileIndex, const Window& window,
                       int erosionPx, std::map<std::uint64_t, std::string>* codes = nullptr);

std::uint64_t codeHash(const std::string& code);

int runLabels(CommandContext& ctx);

}  // namespace cropmap
