// What `cropmap version` reports: this build and the run-time libraries it loaded.
#pragma once

#include <string>

namespace cropmap {

// `runtimes`: lines of the libraries of the layers above (LibTorch, NCCL: pipeline/comm).
std::string versionReport(const std::string& runtimes);
std::string cropmapVersion();  // "0.1.0 (git abc123)"

}  // namespace cropmap
