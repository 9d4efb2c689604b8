// `cropmap version`: this build and the libraries it runs with, from every
// layer (pipeline: MPI, GDAL, HDF5; pipeline/comm: LibTorch, NCCL).
#include <iostream>

#include "pipeline/comm/allreduce.hpp"
#include "pipeline/version.hpp"
#include "stages/commands.hpp"

namespace cropmap {

Command versionCommand() {
  Command c;
  c.name = "version";
  c.summary = "versions of cropmap and of the MPI, GDAL, HDF5, LibTorch and NCCL it runs with";
  c.usesConfig = false;
  c.usesMpi = false;
  c.run = [](CommandContext&) {
    std::cout << versionReport(runtimeVersions());
    return 0;
  };
  return c;
}

}  // namespace cropmap
