// What a command handler receives: the validated configuration, the MPI
// runtime, and the command's own parsed flags.
#pragma once

#include <boost/program_options/variables_map.hpp>

#include <string>
#include <utility>
#include <vector>

#include "config.hpp"
#include "mpi.hpp"

namespace cropmap {

struct CommandContext {
  Config config;
  MpiRuntime* mpi = nullptr;  // null for commands that do not start MPI
  bool resume = false;
  boost::program_options::variables_map args;
  // Figures a stage reports for the summary of `cropmap run` ("imbalance", "1.07").
  std::vector<std::pair<std::string, std::string>> summary;

  int rank() const { return mpi ? mpi->rank() : 0; }
  int size() const { return mpi ? mpi->size() : 1; }
  MPI_Comm comm() const { return MPI_COMM_WORLD; }
};

}  // namespace cropmap
