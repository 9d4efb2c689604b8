#include "version.hpp"

#include <gdal.h>
#include <hdf5.h>
#include <mpi.h>

#include <sstream>


namespace cropmap {

std::string cropmapVersion() { return std::string(CROPMAP_VERSION) + " (git " + CROPMAP_GIT_REV + ")"; }

std::string versionReport(const std::string& runtimes) {
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

  os << runtimes;
  return os.str();
}

}  // namespace cropmap
