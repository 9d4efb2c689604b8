#include "json.hpp"

#include <filesystem>
#include <cerrno>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <stdexcept>

#include "pipeline/gdal_io.hpp"
#include "pipeline/paths.hpp"

namespace cropmap {

std::string json::object(const std::vector<std::pair<std::string, std::string>>& fields) {
  std::string s = "{";
  for (size_t i = 0; i < fields.size(); ++i) s += (i ? ",\n  " : "\n  ") + str(fields[i].first) + ": " + fields[i].second;
  return s + "\n}";
}

void writeTextAtomically(const std::string& path, const std::string& text) {
  const auto parent = std::filesystem::path(path).parent_path();
  if (!parent.empty()) std::filesystem::create_directories(parent);
  const std::string tmp = gdal::temporaryName(path);
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) throw std::runtime_error("cannot create " + tmp + ": " + writeFailure(tmp, errno));
    out << text;
    out.flush();
    if (!out) {
      const int err = errno;
      out.close();
      std::filesystem::remove(tmp);
      throw std::runtime_error("cannot write " + path + ": " + writeFailure(tmp, err));
    }
  }
  gdal::commitFile(tmp, path);
}

}  // namespace cropmap

namespace cropmap::json {

namespace {
[[noreturn]] void wrongKind(const Value& v, const char* wanted) {
  throw std::runtime_error(v.where() + ": expected " + wanted);
}
}  // namespace

double Value::number() const {
  if (kind_ != Kind::number) wrongKind(*this, "a number");
  return number_;
}
bool Value::boolean() const {
  if (kind_ != Kind::boolean) wrongKind(*this, "true or false");
  return bool_;
}
const std::string& Value::string() const {
  if (kind_ != Kind::string) wrongKind(*this, "a string");
  return string_;
}
const std::vector<Value>& Value::array() const {
  if (kind_ != Kind::array) wrongKind(*this, "an array");
  return array_;
}
const std::vector<std::pair<std::string, Value>>& Value::members() const {
  if (kind_ != Kind::object) wrongKind(*this, "an object");
  return object_;
}
const Value* Value::find(const std::string& key) const {
  if (kind_ != Kind::object) return nullptr;
  for (const auto& [k, v] : object_)
    if (k == key) return &v;
  return nullptr;
}
const Value& Value::at(const std::string& key) const {
  if (kind_ != Kind::object) wrongKind(*this, "an object");
  if (const Value* v = find(key)) return *v;
  throw std::runtime_error(where_ + ": no key '" + key + "'");
}
double Value::numberOr(const std::string& key, double fallback) const {
  const Value* v = find(key);
  return v && !v->isNull() ? v->number() : fallback;
}
std::string Value::stringOr(const std::string& key, const std::string& fallback) const {
  const Value* v = find(key);
  return v && !v->isNull() ? v->string() : fallback;
}

class Parser {
 public:
  Parser(const std::string& text, const std::string& name) : t_(text), name_(name) {}

  Value document() {
    Value v = value("");
    skip();
    if (i_ != t_.size()) fail("unexpected text after the document");
    return v;
  }

 private:
  [[noreturn]] void fail(const std::string& what) const {
    throw std::runtime_error(name_ + ": offset " + std::to_string(i_) + ": " + what);
  }
  void skip() {
    while (i_ < t_.size() && (t_[i_] == ' ' || t_[i_] == '\t' || t_[i_] == '\n' || t_[i_] == '\r')) ++i_;
  }
  bool take(char c) {
    skip();
    if (i_ < t_.size() && t_[i_] == c) {
      ++i_;
      return true;
    }
    return false;
  }
  void expect(char c) {
    if (!take(c)) fail(std::string("expected '") + c + "'");
  }
  bool word(const char* w) {
    const std::string s(w);
    if (t_.compare(i_, s.size(), s) != 0) return false;
    i_ += s.size();
    return true;
  }

  // `pointer`: the value's JSON pointer in the document ("" for the root).
  Value value(const std::string& pointer) {
    if (++depth_ > 512) fail("nested too deeply");
    skip();
    if (i_ >= t_.size()) fail("unexpected end of text");
    Value v;
    v.where_ = name_ + ": " + (pointer.empty() ? "/" : pointer);
    const char c = t_[i_];
    if (c == '{') {
      ++i_;
      v.kind_ = Value::Kind::object;
      if (!take('}')) {
        do {
          skip();
          if (i_ >= t_.size() || t_[i_] != '"') fail("expected a key in quotes");
          std::string key = string();
          expect(':');
          v.object_.emplace_back(key, value(pointer + "/" + key));
        } while (take(','));
        expect('}');
      }
    } else if (c == '[') {
      ++i_;
      v.kind_ = Value::Kind::array;
      if (!take(']')) {
        do {
          v.array_.push_back(value(pointer + "/" + std::to_string(v.array_.size())));
        } while (take(','));
        expect(']');
      }
    } else if (c == '"') {
      v.kind_ = Value::Kind::string;
      v.string_ = string();
    } else if (word("true")) {
      v.kind_ = Value::Kind::boolean;
      v.bool_ = true;
    } else if (word("false")) {
      v.kind_ = Value::Kind::boolean;
    } else if (word("null")) {
      v.kind_ = Value::Kind::null;
    } else if (c == '-' || (c >= '0' && c <= '9')) {
      v.kind_ = Value::Kind::number;
      v.number_ = number();
    } else {
      fail(std::string("unexpected character '") + c + "'");
    }
    --depth_;
    return v;
  }

  double number() {
    const size_t start = i_;
    if (t_[i_] == '-') ++i_;
    auto digits = [&] {
      const size_t d = i_;
      while (i_ < t_.size() && t_[i_] >= '0' && t_[i_] <= '9') ++i_;
      if (i_ == d) fail("expected a digit");
    };
    digits();
    if (i_ < t_.size() && t_[i_] == '.') {
      ++i_;
      digits();
    }
    if (i_ < t_.size() && (t_[i_] == 'e' || t_[i_] == 'E')) {
      ++i_;
      if (i_ < t_.size() && (t_[i_] == '+' || t_[i_] == '-')) ++i_;
      digits();
    }
    return std::strtod(t_.substr(start, i_ - start).c_str(), nullptr);
  }

  static void utf8(std::string& out, unsigned cp) {
    if (cp < 0x80) {
      out += static_cast<char>(cp);
    } else if (cp < 0x800) {
      out += static_cast<char>(0xC0 | (cp >> 6));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
      out += static_cast<char>(0xE0 | (cp >> 12));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
      out += static_cast<char>(0xF0 | (cp >> 18));
      out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    }
  }

  unsigned hex4() {
    if (i_ + 4 > t_.size()) fail("truncated \\u escape");
    unsigned v = 0;
    for (int k = 0; k < 4; ++k) {
      const char h = t_[i_++];
      v <<= 4;
      if (h >= '0' && h <= '9') v |= static_cast<unsigned>(h - '0');
      else if (h >= 'a' && h <= 'f') v |= static_cast<unsigned>(h - 'a' + 10);
      else if (h >= 'A' && h <= 'F') v |= static_cast<unsigned>(h - 'A' + 10);
      else fail("bad \\u escape");
    }
    return v;
  }

  std::string string() {
    ++i_;  // opening quote
    std::string out;
    for (;;) {
      if (i_ >= t_.size()) fail("unterminated string");
      const char c = t_[i_++];
      if (c == '"') return out;
      if (static_cast<unsigned char>(c) < 0x20) fail("control character in a string");
      if (c != '\\') {
        out += c;
        continue;
      }
      if (i_ >= t_.size()) fail("unterminated escape");
      const char e = t_[i_++];
      switch (e) {
        case '"': out += '"'; break;
        case '\\': out += '\\'; break;
        case '/': out += '/'; break;
        case 'b': out += '\b'; break;
        case 'f': out += '\f'; break;
        case 'n': out += '\n'; break;
        case 'r': out += '\r'; break;
        case 't': out += '\t'; break;
        case 'u': {
          unsigned cp = hex4();
          if (cp >= 0xD800 && cp < 0xDC00 && i_ + 6 <= t_.size() && t_[i_] == '\\' && t_[i_ + 1] == 'u') {
            i_ += 2;
            const unsigned lo = hex4();
            cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
          }
          utf8(out, cp);
          break;
        }
        default: fail(std::string("bad escape \\") + e);
      }
    }
  }

  const std::string& t_;
  const std::string& name_;
  size_t i_ = 0;
  int depth_ = 0;
};

Value parse(const std::string& text, const std::string& name) { return Parser(text, name).document(); }

Value parseFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error(path + ": cannot read");
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  return parse(text, path);
}

}  // namespace cropmap::json
