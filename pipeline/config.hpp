// The whole configuration of a run: typed sections, loaded from one YAML file
// plus `--set section.key=value` overrides, validated before any MPI collective.
#pragma once

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "config/composite.hpp"
#include "config/inputs.hpp"
#include "config/labels.hpp"
#include "config/learn.hpp"
#include "config/options.hpp"
#include "config/run.hpp"
#include "config/synth.hpp"

namespace cropmap {

struct Config {
  RunSection run;
  LogSection log;
  ComputeSection compute;
  SynthSection synth;
  InputsSection inputs;
  CompositeSection composite;
  LabelsSection labels;
  SplitSection split;
  SampleSection sample;
  TrainSection train;
  PredictSection predict;
  CvSection cv;

  // Where each option got its value: "FILE:LINE" or "--set"; empty for defaults.
  std::map<std::string, std::pair<std::string, int>> origin;
  std::string source;  // the YAML file loaded ("" for defaults)

  void declare(Declarer& d);

  // Load FILE onto the defaults, then apply overrides ("a.b=value"), then validate.
  // Throws ConfigError naming file, line and key.
  static Config load(const std::string& file, const std::vector<std::string>& overrides = {});
  static Config defaults();

  void loadYamlText(const std::string& text, const std::string& file);
  void applyOverride(const std::string& assignment);
  void validate() const;
  // With synth.enabled, empty inputs, labels.parcels and split.zones default to
  // the synthetic region's files below run.output/synth.output (load() applies it).
  void applySynthDefaults();  // cross-option checks (ranges are checked as values arrive)

  // Annotated YAML: every section and option with its doc, type, default and range.
  std::string dump() const;
  // Plain YAML of the values only (stored in outputs, compared for `run` skipping).
  std::string yaml() const;
  // Plain YAML of one section's values ("composite:" and its keys).
  std::string sectionYaml(const std::string& section) const;

  // Throws ConfigError located at the option's origin.
  [[noreturn]] void fail(const std::string& path, const std::string& message) const;

  // Resolved values
  int threads() const;  // compute.threads, or SLURM_CPUS_PER_TASK, or 1
};

}  // namespace cropmap
