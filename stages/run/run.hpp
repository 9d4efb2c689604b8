// `cropmap run`: every stage of a run in order, in one MPI job.
//
// Each stage's result is recorded under <run.output>/.run/<stage>.done with a
// fingerprint of what it was made from: the options that decide its output,
// the identity (path, size, modification time) of the files it reads — the
// scenes, the register, the legend, the zones — the run seed, and the
// fingerprint of the stage before it. A stage whose record matches and whose
// main output still exists is skipped; a stage whose fingerprint changed runs
// again from scratch, and so does everything after it, and the summary says
// why. A stage records its fingerprint in .run/<stage>.started when it
// starts: --resume continues an interrupted stage from its ledger or
// checkpoint only when that fingerprint is unchanged. A stage command run on
// its own (`cropmap composite`) removes the records of its stage and of every
// later one, whose outputs it makes stale.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "pipeline/cli/cli.hpp"

namespace cropmap {

struct RunStage {
  std::string name;
  Command (*command)() = nullptr;
  std::vector<std::string> options;            // options or whole sections that define its output
  bool (*enabled)(const Config&) = nullptr;    // null: always
  std::string (*output)(const Config&) = nullptr;  // main output; missing means not complete
  std::vector<std::string> (*reads)(const Config&) = nullptr;  // files and directories it reads
  bool everyTime = false;  // never skipped: it reads whatever the stages before it left (the report)
};

// The stages `cropmap run` executes, in order.
const std::vector<RunStage>& runStages();

// 64-bit FNV-1a of the stage's options, the identity of the files it reads
// and the upstream fingerprint, as hex.
std::string stageFingerprint(const Config& config, const RunStage& stage, const std::string& upstream);
// The fingerprint a record file (.run/<stage>.done, a fold's cv.done) starts
// with: its first line; empty when the file is missing.
std::string recordedFingerprint(const std::string& path);

Command runCommand();
// A command's own flags parsed from `argv` (e.g. {"--fold", "2"}; empty: the
// defaults), for a command run from inside another one.
boost::program_options::variables_map commandArgs(const Command& cmd, const std::vector<std::string>& argv);
// A stage command run on its own: it first removes the run records of its
// stage and of every later stage (see above), unless that invocation only reads
// (OutputUse::ReadOnly). Commands that are no stage of a run are returned unchanged.
Command standalone(Command command);

}  // namespace cropmap
