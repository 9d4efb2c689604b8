// The git-style command line: `cropmap <command> [flags]`.
//
// Commands are listed in one explicit table (pipeline/cli/main.cpp). The front
// end parses the common flags, loads and validates the configuration on every
// rank before any collective work, sets up logging, and maps failures to exit
// codes: 0 ok, 1 runtime failure, 2 usage or configuration error.
#pragma once

#include <boost/program_options/options_description.hpp>
#include <boost/program_options/positional_options.hpp>
#include <functional>
#include <string>
#include <vector>

#include "../context.hpp"

namespace cropmap {

struct Command {
  std::string name;
  std::string summary;
  std::string description;  // shown by `cropmap <cmd> --help`
  bool usesConfig = true;   // accepts --config/--set
  bool usesMpi = true;      // starts MPI (stages); false for version/config
  bool locksOutput = true;  // with MPI: holds the run lock of run.output (pipeline/run_lock.hpp)
  void (*addOptions)(boost::program_options::options_description&,
                     boost::program_options::positional_options_description&) = nullptr;
  std::function<int(CommandContext&)> run;
};

// Runs the command named by argv[1]; returns the process exit code.
int runCli(int argc, char** argv, const std::vector<Command>& commands);

// The command that is part of the front end itself.
Command configCommand();

}  // namespace cropmap
