#include "version.hpp"

#include <gdal.h>
#include <hdf5.h>
#include <mpi.h>
#include <torch/cuda.h>
#include <torch/version.h>

#include <sstream>

#ifdef CROPMAP_WITH_NCCL
#include <nccl.h>
#endif

namespace cropmap {

std::string cropmapVersion() { return std::string(CROPMAP_VERSION) + " (git " + CROPMAP_GIT_REV + ")"; }

std::string versionReport() {
  std::ostringstream os;
  os << "cropmap " << cropmapVersion() << "\n";
  os << "  compiler:   " <<
#if defined(__clang__)
      "clang " << __clang_version__
#elif defined(__GNUC__)
      "gcc " << __VERSION__
#else
      "unknown"
#endif
     << "\n";
  os << "  build type: " << CROPMAP_BUILD_TYPE << "\n";

  char mpiLib[MPI_MAX_LIBRARY_VERSION_STRING] = {0};
  int len = 0;
  MPI_Get_library_version(mpiLib, &len);
  std::string mpiText(mpiLib, static_cast<size_t>(len));
  if (auto nl = mpiText.find_first_of(",\n"); nl != std::string::npos) mpiText.resize(nl);
  int mpiMajor = 0, mpiMinor = 0;
  MPI_Get_version(&mpiMajor, &mpiMinor);
  os << "  MPI:        " << mpiText << " (MPI standard " << mpiMajor << "." << mpiMinor << ")\n";

  os << "  GDAL:       " << GDALVersionInfo("RELEASE_NAME") << "\n";

  unsigned maj = 0, min = 0, rel = 0;
  H5get_libversion(&maj, &min, &rel);
#ifdef H5_HAVE_PARALLEL
  const char* parallel = "parallel (MPI-IO)";
#else
  const char* parallel = "SERIAL - cropmap needs the parallel build";
#endif
  os << "  HDF5:       " << maj << "." << min << "." << rel << " " << parallel << "\n";

  os << "  LibTorch:   " << TORCH_VERSION << ", CUDA " << (torch::cuda::is_available() ? "available" : "not available")
     << "\n";
#ifdef CROPMAP_WITH_NCCL
  int nv = 0;
  if (ncclGetVersion(&nv) == ncclSuccess)
    os << "  NCCL:       " << nv / 10000 << "." << (nv / 100) % 100 << "." << nv % 100 << " (backend built)\n";
  else
    os << "  NCCL:       built, but ncclGetVersion failed\n";
#else
  os << "  NCCL:       not built\n";
#endif
  return os.str();
}

}  // namespace cropmap
