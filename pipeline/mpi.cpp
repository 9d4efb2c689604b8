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
