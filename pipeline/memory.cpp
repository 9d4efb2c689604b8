#include "memory.hpp"

#include <gdal.h>

#include <sys/resource.h>

#include <cstdio>
#include <fstream>

#include "mpi.hpp"

namespace cropmap {

std::string formatBytes(double bytes) {
  char buf[32];
  if (bytes >= 1e9) std::snprintf(buf, sizeof buf, "%.1f GB", bytes / 1e9);
  else std::snprintf(buf, sizeof buf, "%.0f MB", bytes / 1e6);
  return buf;
}

ProcessUsage ProcessUsage::now() {
  ProcessUsage u;
  rusage ru{};
  if (getrusage(RUSAGE_SELF, &ru) == 0) u.peakRssBytes = static_cast<std::int64_t>(ru.ru_maxrss) * 1024;  // KiB on Linux
  std::ifstream io("/proc/self/io");
  std::string key;
  std::int64_t value = 0;
  while (io >> key >> value) {
    if (key == "rchar:") u.readBytes = value;
    else if (key == "wchar:") u.writtenBytes = value;
  }
  return u;
}

void MemoryBudget::applyToGdal() const {
  if (limit_ > 0) GDALSetCacheMax64(gdalCacheBytes());
}

void MemoryBudget::checkBlock(const std::string& stage, int block, int chunk,
                              const std::function<std::int64_t(int)>& bytesForBlock) const {
  if (limit_ <= 0) return;
  const std::int64_t available = limit_ - gdalCacheBytes();
  const std::int64_t need = bytesForBlock(block);
  if (need <= available) return;
  int fits = 0;
  for (int b = chunk; b < block; b += chunk)
    if (bytesForBlock(b) <= available) fits = b;
  throw UsageError(stage + ": composite.block_size " + std::to_string(block) + " needs about " +
                   formatBytes(static_cast<double>(need)) + " per rank for one block, and compute.memory_mb " +
                   std::to_string(limit_ >> 20) + " leaves " + formatBytes(static_cast<double>(available)) +
                   " after GDAL's cache; " +
                   (fits > 0 ? "use composite.block_size " + std::to_string(fits) + " or less"
                             : std::string("even one chunk does not fit")) +
                   ", or raise compute.memory_mb (fewer ranks per node)");
}

}  // namespace cropmap
