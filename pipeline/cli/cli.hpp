// The git-style command line: `cropmap <command> [flags]`.
//
// Commands are listed in one explicit table (pipeline/cli/main.cpp). The front
// end parses the common flags, loads and validates the configuration on every
// rank before any collective work, sets up logging, and maps failures to exit
// codes: 0 ok, 1 runtime failure, 2 usage or configuration error.
#pragma once

#include <boost/program_options/options_description.hpp>
#include <boost/program_options/positional_options.hpp>
#include <boost/program_options/variables_map.hpp>
#include <functional>
#include <string>
#include <vector>

#include "../context.hpp"

namespace cropmap {

// How one invocation of a command uses run.output.
enum class OutputUse {
  Exclusive,  // writes there: holds the run lock for the whole job
  Unit,       // one task of a job array: takes its unit's lock itself (RunLock::acquireUnit)
  ReadOnly,   // writes nothing there: no lock, and the run's records stay
};

struct Command {
  std::string name;
  std::string summary;
  std::string description;  // shown by `cropmap <cmd> --help`
  bool usesConfig = true;   // accepts --config/--set
  bool usesMpi = true;      // starts MPI (stages); false for version/config
  bool locksOutput = true;  // with MPI: holds the run lock of run.output (pipeline/run_lock.hpp)
  // When the use depends on the flags (`cv --task`, `cv --list-tasks`); null: Exclusive.
  OutputUse (*outputUse)(const boost::program_options::variables_map& args) = nullptr;
  void (*addOptions)(boost::program_options::options_description&,
                     boost::program_options::positional_options_description&) = nullptr;
  std::function<int(CommandContext&)> run;
};

// Runs the command named by argv[1]; returns the process exit code.
int runCli(int argc, char** argv, const std::vector<Command>& commands);

// The command that is part of the front end itself.
Command configCommand();

}  // namespace cropmap
