// `cropmap run`: every stage of a run in order, in one MPI job.
//
// Each stage's result is recorded under <run.output>/.run/<stage>.done with a
// fingerprint of the configuration it was made from (its own sections, the
// run seed, and the fingerprint of the stage before it). A stage whose record
// matches and whose main output still exists is skipped; a stage whose
// configuration changed runs again, and so does everything after it. With
// --resume the first stage that is not complete continues from its own ledger
// or checkpoint (composite, labels, train, predict resume at the unit/epoch).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "pipeline/cli/cli.hpp"

namespace cropmap {

struct RunStage {
  std::string name;
  Command (*command)() = nullptr;
  std::vector<std::string> sections;          // configuration sections that define its output
  bool (*enabled)(const Config&) = nullptr;   // null: always
  std::string (*output)(const Config&) = nullptr;  // main output; missing means not complete
};

// The stages `cropmap run` executes, in order.
const std::vector<RunStage>& runStages();

// 64-bit FNV-1a of the stage's configuration sections and the upstream fingerprint, as hex.
std::string stageFingerprint(const Config& config, const RunStage& stage, const std::string& upstream);

Command runCommand();

}  // namespace cropmap
