// A minimal JSON writer for the summaries and manifests of labels, split and
// sample (objects, arrays, numbers, strings), written atomically.
#pragma once

#include <cstdint>
#include <sstream>
#include <string>

namespace cropmap {

std::string jsonQuote(const std::string& s);
// Writes text to path through a temporary name and a rename.
void writeTextAtomically(const std::string& path, const std::string& text);

}  // namespace cropmap
