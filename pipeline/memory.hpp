// Memory per rank, bounded by configuration (compute.memory_mb), never by the
// size of the country.
//
// Every block stage knows what one unit costs: a few arrays of block x block
// pixels times the periods, bands or scenes of a period. It states that cost
// to the budget before it starts; a block size that cannot fit is refused with
// the estimate and the largest block size that would. GDAL's raster block
// cache, which by default takes a share of the node's RAM in *every* process
// (with 64 ranks per node, more than the node), is capped to a quarter of the
// budget.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

namespace cropmap {

class MemoryBudget {
 public:
  // memoryMb 0: no limit (the GDAL cache keeps its default).
  explicit MemoryBudget(int memoryMb) : limit_(static_cast<std::int64_t>(memoryMb) << 20) {}
  std::int64_t limitBytes() const { return limit_; }
  // The share of the budget GDAL's block cache may take.
  std::int64_t gdalCacheBytes() const { return limit_ / 4; }
  // Caps GDAL's cache (process-wide; call once per rank).
  void applyToGdal() const;

  // Throws UsageError when `bytesForBlock(block)` and GDAL's cache exceed the
  // budget, naming `stage`, the estimate and the largest multiple of `chunk`
  // that fits. `bytesForBlock` must grow with the block edge.
  void checkBlock(const std::string& stage, int block, int chunk,
                  const std::function<std::int64_t(int block)>& bytesForBlock) const;

 private:
  std::int64_t limit_;
};

// What this process has used so far: its peak resident set (getrusage) and the
// bytes it passed through read/write calls (/proc/self/io rchar/wchar, page
// cache included; -1 where the kernel does not say). Block stages report it
// per rank, so the claim above is checked on every run.
struct ProcessUsage {
  std::int64_t peakRssBytes = 0;
  std::int64_t readBytes = -1, writtenBytes = -1;
  static ProcessUsage now();
};

// "1.2 GB", "350 MB".
std::string formatBytes(double bytes);

}  // namespace cropmap
