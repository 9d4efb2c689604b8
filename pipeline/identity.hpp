// What identifies inputs and settings between runs: a 64-bit FNV-1a hash of a
// text, and the identity of files (path, size, modification time). Stage
// fingerprints of `cropmap run`, the composite's resume check against changed
// scenes, predict's part manifests and the labels settings use these, so that
// "the same input" means one thing everywhere.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace cropmap {

std::uint64_t fnv1a(const std::string& text);
// 16 lowercase hex digits.
std::string hex64(std::uint64_t value);

// "ABSOLUTE_PATH size N mtime T"; for a missing file "ABSOLUTE_PATH missing".
std::string fileIdentity(const std::string& path);
// One fileIdentity line per regular file below `paths` (directories walked,
// glob patterns expanded), sorted.
std::string filesIdentity(const std::vector<std::string>& paths);

}  // namespace cropmap
