// What `cropmap version` reports: this build and the run-time libraries it loaded.
#pragma once

#include <string>

namespace cropmap {

std::string versionReport();
std::string cropmapVersion();  // "0.1.0 (git abc123)"

}  // namespace cropmap
