// Helpers of the mpi test tier (rank and size come from pipeline/mpi.hpp:
// worldRank(), worldSize()).
#pragma once

#include <mpi.h>

#include <filesystem>
#include <string>

#include "pipeline/mpi.hpp"

namespace cropmap::test {

// An empty directory below the test scratch area that every rank agrees on:
// rank 0 makes it, named after the test and the rank count.
inline std::string sharedDir(const std::string& name) {
  const std::string dir = std::string(CROPMAP_TEST_TMP) + "/" + name + "_np" + std::to_string(worldSize());
  if (worldRank() == 0) {
    std::filesystem::remove_all(dir);
    std::filesystem::create_directories(dir);
  }
  MPI_Barrier(MPI_COMM_WORLD);
  return dir;
}

}  // namespace cropmap::test
