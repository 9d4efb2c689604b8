// Moving plain records between ranks by key: the reductions of labels, split
// and sample send each record to the rank that owns its key (key mod size), so
// that per-parcel sums over blocks, tiles and ranks need no rank to hold the
// records of the whole country.
#pragma once

#include <mpi.h>

#include <cstdint>
#include <cstring>
#include <type_traits>
#include <vector>

#include "pipeline/mpi.hpp"

namespace cropmap {

inline int ownerOf(std::uint64_t key, int size) {
  // Spread consecutive parcel ids: they are often dense and sorted by region.
  std::uint64_t h = key * 0x9e3779b97f4a7c15ULL;
  return static_cast<int>((h >> 32) % static_cast<std::uint64_t>(size));
}

// Every rank passes its records bucketed by destination rank; returns the
// records received, grouped by source rank in rank order (so the result does
// not depend on timing). Collective.
template <class T>
std::vector<T> exchangeRecords(const std::vector<std::vector<T>>& outgoing, MPI_Comm comm,
                        std::vector<int>* fromRank = nullptr) {
  static_assert(std::is_trivially_copyable_v<T>, "records travel as bytes");
  int size = 1;
  CROPMAP_MPI(MPI_Comm_size(comm, &size));
  std::vector<long long> sendBytes(static_cast<size_t>(size)), recvBytes(static_cast<size_t>(size));
  for (int r = 0; r < size; ++r) sendBytes[r] = static_cast<long long>(outgoing[r].size() * sizeof(T));
  CROPMAP_MPI(MPI_Alltoall(sendBytes.data(), 1, MPI_LONG_LONG, recvBytes.data(), 1, MPI_LONG_LONG, comm));
  std::vector<int> sc(static_cast<size_t>(size)), sd(static_cast<size_t>(size)), rc(static_cast<size_t>(size)),
      rd(static_cast<size_t>(size));
  long long st = 0, rt = 0;
  for (int r = 0; r < size; ++r) {
    if (st > 2147483647LL || rt > 2147483647LL || sendBytes[r] > 2147483647LL || recvBytes[r] > 2147483647LL)
      throw std::runtime_error("record exchange: more than 2 GiB between two ranks; run on more ranks");
    sd[r] = static_cast<int>(st);
    sc[r] = static_cast<int>(sendBytes[r]);
    rd[r] = static_cast<int>(rt);
    rc[r] = static_cast<int>(recvBytes[r]);
    st += sendBytes[r];
    rt += recvBytes[r];
  }
  std::vector<unsigned char> send(static_cast<size_t>(st)), recv(static_cast<size_t>(rt));
  for (int r = 0; r < size; ++r)
    if (!outgoing[r].empty()) std::memcpy(send.data() + sd[r], outgoing[r].data(), static_cast<size_t>(sc[r]));
  CROPMAP_MPI(MPI_Alltoallv(send.data(), sc.data(), sd.data(), MPI_BYTE, recv.data(), rc.data(), rd.data(), MPI_BYTE,
                            comm));
  std::vector<T> out(static_cast<size_t>(rt) / sizeof(T));
  if (rt) std::memcpy(out.data(), recv.data(), static_cast<size_t>(rt));
  if (fromRank) {
    fromRank->clear();
    for (int r = 0; r < size; ++r) fromRank->insert(fromRank->end(), static_cast<size_t>(rc[r]) / sizeof(T), r);
  }
  return out;
}

// Gathers variable-length text from every rank on root (empty elsewhere), in rank order.
std::vector<std::string> gatherText(const std::string& mine, int root, MPI_Comm comm);

}  // namespace cropmap
