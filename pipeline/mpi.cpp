#include "mpi.hpp"

#include <cstdio>
#include <cstdlib>

namespace cropmap {

MpiRuntime::MpiRuntime(int* argc, char*** argv) {
  int initialised = 0;
  MPI_Initialized(&initialised);
  if (!initialised) {
    int provided = 0;
    // MPI is only called from the main thread; compute threads never touch it.
    CROPMAP_MPI(MPI_Init_thread(argc, argv, MPI_THREAD_FUNNELED, &provided));
    initialisedHere_ = true;
  }
  // Errors come back as return codes so they can be reported with context.
  MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
  MPI_Comm_rank(MPI_COMM_WORLD, &rank_);
  MPI_Comm_size(MPI_COMM_WORLD, &size_);
}

MpiRuntime::~MpiRuntime() {
  if (!initialisedHere_) return;
  int finalised = 0;
  MPI_Finalized(&finalised);
  if (!finalised) MPI_Finalize();
}

static bool mpiRunning() {
  int init = 0, fin = 0;
  MPI_Initialized(&init);
  MPI_Finalized(&fin);
  return init && !fin;
}

int worldRank() {
  if (!mpiRunning()) return 0;
  int r = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &r);
  return r;
}

int worldSize() {
  if (!mpiRunning()) return 1;
  int s = 1;
  MPI_Comm_size(MPI_COMM_WORLD, &s);
  return s;
}

namespace {

// Counts and displacements of an MPI_Allgatherv where this rank sends n elements; returns the total.
int allgatherLayout(int n, MPI_Comm comm, std::vector<int>& counts, std::vector<int>& displs) {
  int size = 1;
  CROPMAP_MPI(MPI_Comm_size(comm, &size));
  counts.assign(static_cast<size_t>(size), 0);
  displs.assign(static_cast<size_t>(size), 0);
  CROPMAP_MPI(MPI_Allgather(&n, 1, MPI_INT, counts.data(), 1, MPI_INT, comm));
  int total = 0;
  for (int r = 0; r < size; ++r) {
    displs[static_cast<size_t>(r)] = total;
    total += counts[static_cast<size_t>(r)];
  }
  return total;
}

}  // namespace

std::string allgatherv(const std::string& mine, MPI_Comm comm) {
  std::vector<int> counts, displs;
  const int n = static_cast<int>(mine.size());
  std::string all(static_cast<size_t>(allgatherLayout(n, comm, counts, displs)), '\0');
  CROPMAP_MPI(MPI_Allgatherv(mine.data(), n, MPI_CHAR, all.data(), counts.data(), displs.data(), MPI_CHAR, comm));
  return all;
}

std::vector<std::int64_t> allgatherv(const std::vector<std::int64_t>& mine, MPI_Comm comm) {
  std::vector<int> counts, displs;
  const int n = static_cast<int>(mine.size());
  std::vector<std::int64_t> all(static_cast<size_t>(allgatherLayout(n, comm, counts, displs)));
  CROPMAP_MPI(MPI_Allgatherv(mine.data(), n, MPI_INT64_T, all.data(), counts.data(), displs.data(), MPI_INT64_T, comm));
  return all;
}

void checkMpi(int rc, const char* call, const char* file, int line) {
  if (rc == MPI_SUCCESS) return;
  char text[MPI_MAX_ERROR_STRING] = {0};
  int len = 0;
  MPI_Error_string(rc, text, &len);
  throw std::runtime_error(std::string("MPI error in ") + call + " at " + file + ":" + std::to_string(line) +
                           ": " + std::string(text, static_cast<size_t>(len)));
}

void abortJob(const std::string& message, int code) {
  std::fprintf(stderr, "[rank %d] error: %s\n", worldRank(), message.c_str());
  std::fflush(stderr);
  std::fflush(stdout);
  if (mpiRunning() && worldSize() > 1) MPI_Abort(MPI_COMM_WORLD, code);
  if (mpiRunning()) MPI_Finalize();
  std::exit(code);
}

}  // namespace cropmap
