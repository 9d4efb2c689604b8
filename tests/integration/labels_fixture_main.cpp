// Writes the labels/split/sample fixture region into a directory:
//   labels_fixture DIR [extra YAML appended to DIR/config.yaml]
#include <mpi.h>

#include <cstdio>
#include <exception>

#include "support/labels_fixture.hpp"

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: labels_fixture DIR [EXTRA_YAML]\n");
    return 2;
  }
  MPI_Init(&argc, &argv);
  int rc = 0;
  try {
    cropmap::test::makeLabelsFixture(argv[1], MPI_COMM_WORLD, argc > 2 ? argv[2] : "");
  } catch (const std::exception& e) {
    std::fprintf(stderr, "labels_fixture: %s\n", e.what());
    rc = 1;
  }
  MPI_Finalize();
  return rc;
}
