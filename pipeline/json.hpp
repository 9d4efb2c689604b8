// JSON text output for every summary, manifest, report, metrics line and bench
// result cropmap writes: numbers round-trip (%.17g), strings escaped. Writing
// only; cropmap reads no JSON of its own except bench's flat number tables.
#pragma once

#include <cmath>
#include <cstdio>
#include <string>
#include <utility>
#include <vector>

namespace cropmap::json {

inline std::string str(const std::string& s) {
  std::string o = "\"";
  for (char c : s) {
    switch (c) {
      case '"': o += "\\\""; break;
      case '\\': o += "\\\\"; break;
      case '\n': o += "\\n"; break;
      case '\t': o += "\\t"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          char b[8];
          std::snprintf(b, sizeof b, "\\u%04x", c);
          o += b;
        } else {
          o += c;
        }
    }
  }
  return o + "\"";
}

inline std::string num(double v) {
  if (!std::isfinite(v)) return "null";
  char b[32];
  std::snprintf(b, sizeof b, "%.17g", v);
  return b;
}
inline std::string num(long long v) { return std::to_string(v); }
inline std::string num(long v) { return std::to_string(v); }
inline std::string num(int v) { return std::to_string(v); }

template <class T>
std::string list(const std::vector<T>& v) {
  std::string o = "[";
  for (size_t i = 0; i < v.size(); ++i) {
    if (i) o += ", ";
    if constexpr (std::is_same_v<T, std::string>) o += str(v[i]);
    else o += num(v[i]);
  }
  return o + "]";
}

// Builds {"a": 1, "b": "x"} in insertion order.
class Object {
 public:
  Object& raw(const std::string& key, const std::string& json) {
    body_ += (body_.empty() ? "" : ", ") + str(key) + ": " + json;
    return *this;
  }
  Object& field(const std::string& key, double v) { return raw(key, num(v)); }
  Object& field(const std::string& key, long long v) { return raw(key, num(v)); }
  Object& field(const std::string& key, long v) { return raw(key, num(v)); }
  Object& field(const std::string& key, int v) { return raw(key, num(v)); }
  Object& field(const std::string& key, bool v) { return raw(key, v ? "true" : "false"); }
  Object& field(const std::string& key, const std::string& v) { return raw(key, str(v)); }
  Object& field(const std::string& key, const char* v) { return raw(key, str(v)); }
  std::string text() const { return "{" + body_ + "}"; }

 private:
  std::string body_;
};

// {"key": value, ...} one field a line, from values already in JSON.
std::string object(const std::vector<std::pair<std::string, std::string>>& fields);

}  // namespace cropmap::json

namespace cropmap {
// Writes text to path through a temporary name and a rename: a reader sees the
// old file or the whole new one, never a part.
void writeTextAtomically(const std::string& path, const std::string& text);
}  // namespace cropmap
