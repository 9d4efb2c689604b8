// A job in which one rank fails while the others wait in a collective: without
// abortJob the others would hang forever.
#include <cstring>

#include "pipeline/mpi.hpp"

int main(int argc, char** argv) {
  cropmap::MpiRuntime rt(&argc, &argv);
  const int failing = argc > 1 ? std::atoi(argv[1]) : 1;
  if (rt.rank() == failing) cropmap::abortJob("composite tile 33UVP block (2,5): simulated read failure", 3);
  MPI_Barrier(MPI_COMM_WORLD);
  return 0;
}
