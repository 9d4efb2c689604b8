// The option registry behind cropmap's configuration.
//
// Every option is declared exactly once, next to the member it fills, with its
// default (the member initialiser), a doc line and an optional range or enum.
// That one declaration drives YAML loading, `--set` overrides, validation and
// `cropmap config --dump`: sections implement `void declare(Declarer&)` and the
// loader, dumper and validator all walk the flat list that declare() produces.
#pragma once

#include <cstdint>
#include <deque>
#include <optional>
#include <stdexcept>
#include <string>
#include <variant>
#include <vector>

namespace cropmap {

// A configuration problem the user can fix: printed as `FILE:LINE: key 'a.b': message`
// and mapped to exit code 2.
class ConfigError : public std::runtime_error {
 public:
  ConfigError(std::string file, int line, std::string key, const std::string& message);
  const std::string& file() const { return file_; }
  int line() const { return line_; }
  const std::string& key() const { return key_; }
  const std::string& message() const { return message_; }

 private:
  std::string file_;
  int line_;
  std::string key_;
  std::string message_;
};

using OptionRef = std::variant<bool*, int*, std::int64_t*, double*, std::string*,
                               std::vector<int>*, std::vector<double>*,
                               std::vector<std::string>*>;

// One declared option (or, when `ref` is empty, a section header).
struct Option {
  std::string path;  // dotted: "composite.block_size"
  std::string doc;
  std::optional<OptionRef> ref;
  std::optional<double> lo, hi;        // inclusive numeric range (scalars and list items)
  std::vector<std::string> choices;    // enum: allowed strings (scalars and list items)
  bool isSection() const { return !ref.has_value(); }
};

// Builder returned by Declarer::opt, to attach a range or an enum.
class OptionBuilder {
 public:
  explicit OptionBuilder(Option& o) : o_(o) {}
  OptionBuilder& range(double lo, double hi) {
    o_.lo = lo;
    o_.hi = hi;
    return *this;
  }
  OptionBuilder& min(double lo) {
    o_.lo = lo;
    return *this;
  }
  OptionBuilder& oneOf(std::vector<std::string> values) {
    o_.choices = std::move(values);
    return *this;
  }

 private:
  Option& o_;
};

// Collects the options of a configuration into a flat, ordered list.
class Declarer {
 public:
  template <class Body>
  void section(const std::string& name, const std::string& doc, Body&& body) {
    prefix_.push_back(name);
    options_.push_back(Option{joined(), doc, std::nullopt, {}, {}, {}});
    body();
    prefix_.pop_back();
  }
  template <class T>
  OptionBuilder opt(const std::string& key, T& member, const std::string& doc) {
    prefix_.push_back(key);
    options_.push_back(Option{joined(), doc, OptionRef(&member), {}, {}, {}});
    prefix_.pop_back();
    return OptionBuilder(options_.back());
  }
  std::deque<Option>& options() { return options_; }

 private:
  std::string joined() const;
  std::vector<std::string> prefix_;
  std::deque<Option> options_;  // deque: builders keep references while we append
};

// Text of an option's current value as YAML flow (`[4, 5, 6]`, `"abc"`, `true`).
std::string optionValueYaml(const OptionRef& ref);
// Type name shown in dumps and errors ("integer", "list of strings", ...).
std::string optionTypeName(const OptionRef& ref);

}  // namespace cropmap
