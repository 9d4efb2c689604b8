#include "exchange.hpp"

#include <string>

namespace cropmap {

std::vector<std::string> gatherText(const std::string& mine, int root, MPI_Comm comm) {
  int rank = 0, size = 1;
  CROPMAP_MPI(MPI_Comm_rank(comm, &rank));
  CROPMAP_MPI(MPI_Comm_size(comm, &size));
  int len = static_cast<int>(mine.size());
  std::vector<int> lens(static_cast<size_t>(size)), displs(static_cast<size_t>(size));
  CROPMAP_MPI(MPI_Gather(&len, 1, MPI_INT, lens.data(), 1, MPI_INT, root, comm));
  int total = 0;
  if (rank == root)
    for (int r = 0; r < size; ++r) {
      displs[r] = total;
      total += lens[r];
    }
  std::string all(static_cast<size_t>(total), '\0');
  CROPMAP_MPI(MPI_Gatherv(mine.data(), len, MPI_CHAR, all.data(), lens.data(), displs.data(), MPI_CHAR, root, comm));
  std::vector<std::string> out;
  if (rank == root)
    for (int r = 0; r < size; ++r) out.push_back(all.substr(static_cast<size_t>(displs[r]), static_cast<size_t>(lens[r])));
  return out;
}

}  // namespace cropmap
