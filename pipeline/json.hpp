// JSON for every summary, manifest, report, metrics line and bench result
// cropmap writes (numbers round-trip with %.17g, strings escaped), and the one
// reader for the JSON it reads back: its own reports and bench results, and
// external documents such as STAC items. The reader is a small strict
// RFC 8259 parser into a tree of values; errors name the document and the
// byte offset.
#pragma once

#include <cmath>
#include <cstdio>
#include <map>
#include <memory>
#include <stdexcept>
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

// ---- reading ----------------------------------------------------------------

class Value {
 public:
  enum class Kind { null, boolean, number, string, array, object };
  Value() = default;
  Kind kind() const { return kind_; }
  bool isNull() const { return kind_ == Kind::null; }
  bool isNumber() const { return kind_ == Kind::number; }
  bool isString() const { return kind_ == Kind::string; }
  bool isArray() const { return kind_ == Kind::array; }
  bool isObject() const { return kind_ == Kind::object; }

  // Typed access; throws std::runtime_error naming the key path when the kind differs.
  double number() const;
  bool boolean() const;
  const std::string& string() const;
  const std::vector<Value>& array() const;
  // Object members in document order.
  const std::vector<std::pair<std::string, Value>>& members() const;

  // Object member or nullptr; `at` throws naming the missing key.
  const Value* find(const std::string& key) const;
  const Value& at(const std::string& key) const;
  bool has(const std::string& key) const { return find(key) != nullptr; }
  // Member's number/string, or `fallback` when absent or null.
  double numberOr(const std::string& key, double fallback) const;
  std::string stringOr(const std::string& key, const std::string& fallback) const;

  // Where the value sits in its document ("report.json: /pixel/kappa"), for messages.
  const std::string& where() const { return where_; }

 private:
  friend class Parser;
  Kind kind_ = Kind::null;
  bool bool_ = false;
  double number_ = 0;
  std::string string_;
  std::vector<Value> array_;
  std::vector<std::pair<std::string, Value>> object_;
  std::string where_;
};

// Parses a whole document; throws std::runtime_error "NAME: offset N: what" on malformed text.
Value parse(const std::string& text, const std::string& name = "JSON");
// Reads and parses a file; throws std::runtime_error naming the file.
Value parseFile(const std::string& path);

}  // namespace cropmap::json

namespace cropmap {
// Writes text to path through a temporary name and a rename: a reader sees the
// old file or the whole new one, never a part.
void writeTextAtomically(const std::string& path, const std::string& text);
}  // namespace cropmap
