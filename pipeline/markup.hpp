// Escaping text for XML and HTML: the VRT and QGIS style files of the maps,
// the SVG plots and the HTML report.
#pragma once

#include <string>

namespace cropmap {

inline std::string xmlEscape(const std::string& text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
  return out;
}

}  // namespace cropmap
