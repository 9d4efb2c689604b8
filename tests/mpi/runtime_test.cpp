// MPI runtime under mpiexec: cropmap neither re-initialises nor finalises an MPI
// it did not start, and MPI errors come back as exceptions with context.
#include <gtest/gtest.h>

#include "pipeline/mpi.hpp"

using namespace cropmap;

TEST(MpiRuntime, JoinsAnExistingMpiWithoutOwningIt) {
  int argc = 0;
  char** argv = nullptr;
  {
    MpiRuntime rt(&argc, &argv);
    EXPECT_FALSE(rt.ownsMpi());
    int rank = -1, size = -1;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    EXPECT_EQ(rt.rank(), rank);
    EXPECT_EQ(rt.size(), size);
    EXPECT_GE(rt.size(), 2);
    EXPECT_EQ(worldRank(), rank);
  }
  int finalised = 1;
  MPI_Finalized(&finalised);
  EXPECT_FALSE(finalised) << "the runtime finalised an MPI it did not initialise";
  int sum = 0, one = 1;
  ASSERT_EQ(MPI_Allreduce(&one, &sum, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD), MPI_SUCCESS);
  EXPECT_EQ(sum, worldSize());
}

TEST(MpiRuntime, ErrorsBecomeExceptionsWithContext) {
  int argc = 0;
  char** argv = nullptr;
  MpiRuntime rt(&argc, &argv);  // sets MPI_ERRORS_RETURN on the world communicator
  int value = 1;
  try {
    CROPMAP_MPI(MPI_Send(&value, 1, MPI_INT, rt.size() + 5, 0, MPI_COMM_WORLD));  // invalid rank
    FAIL() << "expected an exception";
  } catch (const std::runtime_error& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("MPI error in MPI_Send"), std::string::npos) << what;
    EXPECT_NE(what.find("runtime_test.cpp"), std::string::npos) << what;
  }
}
