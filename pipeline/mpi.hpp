// MPI lifetime, error handling and typed collectives.
//
// cropmap initialises MPI only if nobody did and finalises only what it
// initialised, so the same binary runs as a singleton, under mpirun and srun,
// and inside a host program that owns MPI. A fatal error on one rank prints its
// message once, tagged with the rank, and aborts the whole job instead of
// leaving the other ranks hanging in a collective.
//
// Stages talk to each other through `Comm`, a communicator with the handful of
// typed collectives they need (broadcast, sums and maxima, gathers of values,
// vectors and text, and the keyed record exchange), in the manner of ADIOS2's
// helper::Comm. Every call takes a short hint ("composite: phase times") that
// an MPI failure carries in its message. `Comm::serial()` is the stand-in for a
// single process: it makes no MPI call at all, so code written against Comm is
// unit-testable without MPI_Init.
#pragma once

#include <mpi.h>

#include <cstdint>
#include <cstring>
#include <stdexcept>
#include <string>
#include <type_traits>
#include <vector>

namespace cropmap {

class MpiRuntime {
 public:
  MpiRuntime(int* argc, char*** argv);
  ~MpiRuntime();
  MpiRuntime(const MpiRuntime&) = delete;
  MpiRuntime& operator=(const MpiRuntime&) = delete;

  int rank() const { return rank_; }
  int size() const { return size_; }
  MPI_Comm comm() const { return MPI_COMM_WORLD; }
  bool ownsMpi() const { return initialisedHere_; }

  // Called by every rank that fails. When all ranks of the job fail within
  // `seconds` (an error that collective code meets on every rank: a bad input,
  // a stop signal), the ranks agree: the result is true, every rank gets the
  // highest exit code and rank 0 every distinct message, so that the error is
  // printed once. False when only some ranks failed: the caller then prints
  // its own message and aborts the job. Runs on a communicator of its own, so
  // ranks waiting in another collective do not interfere.
  struct Failure {
    bool everyRank = false;
    int code = 1;
    std::vector<std::string> messages;  // rank 0, distinct, in rank order
  };
  Failure agreeOnFailure(const std::string& message, int code, double seconds);

 private:
  bool initialisedHere_ = false;
  int rank_ = 0;
  int size_ = 1;
  MPI_Comm errors_ = MPI_COMM_NULL;
};

// Rank of this process in MPI_COMM_WORLD; 0 before MPI_Init or without MPI.
int worldRank();
int worldSize();

// Throws std::runtime_error "MPI error in CALL (HINT) at FILE:LINE: text" unless rc == MPI_SUCCESS.
void checkMpi(int rc, const char* call, const char* file, int line, const char* hint = nullptr);
#define CROPMAP_MPI(call) ::cropmap::checkMpi((call), #call, __FILE__, __LINE__)
#define CROPMAP_MPI_HINT(call, hint) ::cropmap::checkMpi((call), #call, __FILE__, __LINE__, (hint))

// The MPI datatype of an arithmetic T; MPI_BYTE for other trivially copyable
// types, which then travel as sizeof(T) bytes each.
template <class T>
MPI_Datatype mpiType() {
  static_assert(std::is_trivially_copyable_v<T>, "only trivially copyable values travel through MPI");
  if constexpr (std::is_same_v<T, double>) return MPI_DOUBLE;
  else if constexpr (std::is_same_v<T, float>) return MPI_FLOAT;
  else if constexpr (std::is_same_v<T, std::int64_t> || std::is_same_v<T, long long>) return MPI_INT64_T;
  else if constexpr (std::is_same_v<T, std::uint64_t> || std::is_same_v<T, unsigned long long>) return MPI_UINT64_T;
  else if constexpr (std::is_same_v<T, std::int32_t>) return MPI_INT32_T;
  else if constexpr (std::is_same_v<T, std::uint32_t>) return MPI_UINT32_T;
  else if constexpr (std::is_same_v<T, std::int16_t>) return MPI_INT16_T;
  else if constexpr (std::is_same_v<T, std::uint16_t>) return MPI_UINT16_T;
  else if constexpr (std::is_same_v<T, std::int8_t>) return MPI_INT8_T;
  else if constexpr (std::is_same_v<T, std::uint8_t>) return MPI_UINT8_T;
  else if constexpr (std::is_same_v<T, char>) return MPI_CHAR;
  else return MPI_BYTE;
}

// Elements of T per MPI element of mpiType<T>() (sizeof(T) for MPI_BYTE records).
template <class T>
constexpr int mpiWidth() {
  if constexpr (std::is_arithmetic_v<T>) return 1;
  else return static_cast<int>(sizeof(T));
}

// The rank that owns a key (a parcel id) in keyed reductions: keys are often
// dense and sorted by region, so they are spread by a multiplicative hash.
inline int ownerOf(std::uint64_t key, int size) {
  const std::uint64_t h = key * 0x9e3779b97f4a7c15ULL;
  return static_cast<int>((h >> 32) % static_cast<std::uint64_t>(size));
}

class Comm {
 public:
  // Wraps an existing communicator (not owned).
  explicit Comm(MPI_Comm comm);
  // One process and no MPI calls: the serial stand-in.
  static Comm serial() { return Comm(); }

  int rank() const { return rank_; }
  int size() const { return size_; }
  bool root() const { return rank_ == 0; }
  bool isSerial() const { return serial_; }
  // The raw communicator (MPI_COMM_SELF for the serial stand-in).
  MPI_Comm raw() const { return serial_ ? MPI_COMM_SELF : comm_; }

  void barrier(const char* hint) const;

  // Rank 0's value (or `from`'s) on every rank.
  template <class T>
  T bcast(T value, const char* hint, int from = 0) const {
    if (!serial_) bcastBytes(&value, sizeof(T), from, hint);
    return value;
  }
  std::string bcast(std::string text, const char* hint, int from = 0) const;
  template <class T>
  std::vector<T> bcast(std::vector<T> values, const char* hint, int from = 0) const {
    const auto n = bcast<std::int64_t>(static_cast<std::int64_t>(values.size()), hint, from);
    values.resize(static_cast<size_t>(n));
    if (!serial_ && n > 0) bcastBytes(values.data(), static_cast<size_t>(n) * sizeof(T), from, hint);
    return values;
  }

  // Element-wise reductions on every rank.
  template <class T>
  T sum(T value, const char* hint) const {
    reduceInPlace(&value, 1, MPI_SUM, hint);
    return value;
  }
  template <class T>
  T max(T value, const char* hint) const {
    reduceInPlace(&value, 1, MPI_MAX, hint);
    return value;
  }
  template <class T>
  T min(T value, const char* hint) const {
    reduceInPlace(&value, 1, MPI_MIN, hint);
    return value;
  }
  template <class T>
  void sumInPlace(std::vector<T>& values, const char* hint) const {
    reduceInPlace(values.data(), values.size(), MPI_SUM, hint);
  }
  template <class T>
  void maxInPlace(std::vector<T>& values, const char* hint) const {
    reduceInPlace(values.data(), values.size(), MPI_MAX, hint);
  }
  // Sum of every rank's values before this rank's (0 on rank 0).
  template <class T>
  T exclusivePrefixSum(T value, const char* hint) const {
    T out{};
    if (!serial_) {
      CROPMAP_MPI_HINT(MPI_Exscan(&value, &out, 1, mpiType<T>(), MPI_SUM, comm_), hint);
      if (rank_ == 0) out = T{};
    }
    return out;
  }

  // One value of every rank, in rank order, on every rank.
  template <class T>
  std::vector<T> allgather(const T& value, const char* hint) const {
    std::vector<T> out(static_cast<size_t>(size_));
    if (serial_) {
      out[0] = value;
      return out;
    }
    CROPMAP_MPI_HINT(MPI_Allgather(&value, mpiWidth<T>(), mpiType<T>(), out.data(), mpiWidth<T>(), mpiType<T>(), comm_),
                     hint);
    return out;
  }
  // Every rank's values concatenated in rank order, on every rank.
  template <class T>
  std::vector<T> allgatherv(const std::vector<T>& mine, const char* hint) const {
    std::vector<T> all;
    gathervBytes(mine.data(), mine.size(), sizeof(T), true, 0, hint, all);
    return all;
  }
  std::string allgatherv(const std::string& mine, const char* hint) const;
  // Every rank's values concatenated in rank order, on `to` only (empty elsewhere).
  template <class T>
  std::vector<T> gatherv(const std::vector<T>& mine, const char* hint, int to = 0) const {
    std::vector<T> all;
    gathervBytes(mine.data(), mine.size(), sizeof(T), false, to, hint, all);
    return all;
  }
  // Every rank's text on `to`, one string per rank (empty vector elsewhere).
  std::vector<std::string> gatherText(const std::string& mine, const char* hint, int to = 0) const;

  // Records bucketed by destination rank (outgoing[r] goes to rank r); returns
  // the records received grouped by source rank in rank order, so the result
  // does not depend on timing. `fromRank`, when given, receives each record's
  // source rank. Used by the keyed reductions of labels, split and sample, so
  // that no rank ever holds the records of the whole country.
  template <class T>
  std::vector<T> exchange(const std::vector<std::vector<T>>& outgoing, const char* hint,
                          std::vector<int>* fromRank = nullptr) const {
    static_assert(std::is_trivially_copyable_v<T>, "records travel as bytes");
    std::vector<const void*> data;
    std::vector<size_t> counts;
    for (const auto& o : outgoing) {
      data.push_back(o.data());
      counts.push_back(o.size());
    }
    std::vector<size_t> received;
    std::vector<unsigned char> bytes = exchangeBytes(data, counts, sizeof(T), hint, received);
    std::vector<T> out(bytes.size() / sizeof(T));
    if (!bytes.empty()) std::memcpy(out.data(), bytes.data(), bytes.size());
    if (fromRank) {
      fromRank->clear();
      for (size_t r = 0; r < received.size(); ++r) fromRank->insert(fromRank->end(), received[r], static_cast<int>(r));
    }
    return out;
  }

 private:
  Comm() = default;
  void bcastBytes(void* data, size_t bytes, int from, const char* hint) const;
  template <class T>
  void reduceInPlace(T* data, size_t n, MPI_Op op, const char* hint) const {
    static_assert(std::is_arithmetic_v<T>, "reductions are over numbers");
    if (serial_ || n == 0) return;
    CROPMAP_MPI_HINT(MPI_Allreduce(MPI_IN_PLACE, data, static_cast<int>(n), mpiType<T>(), op, comm_), hint);
  }
  // Gathers `n` elements of `width` bytes from every rank into `out` (a
  // std::vector of that element type), on every rank or on `to` only.
  template <class V>
  void gathervBytes(const void* mine, size_t n, size_t width, bool all, int to, const char* hint, V& out) const {
    const std::vector<long long> counts = gatherCounts(static_cast<long long>(n), all, to, hint);
    long long total = 0;
    for (long long c : counts) total += c;
    out.resize(static_cast<size_t>(total));
    gathervRaw(mine, n, width, counts, all, to, hint, out.data());
  }
  std::vector<long long> gatherCounts(long long n, bool all, int to, const char* hint) const;
  void gathervRaw(const void* mine, size_t n, size_t width, const std::vector<long long>& counts, bool all, int to,
                  const char* hint, void* out) const;
  std::vector<unsigned char> exchangeBytes(const std::vector<const void*>& data, const std::vector<size_t>& counts,
                                           size_t width, const char* hint, std::vector<size_t>& received) const;

  MPI_Comm comm_ = MPI_COMM_NULL;
  int rank_ = 0;
  int size_ = 1;
  bool serial_ = true;
};

// Print "[rank R] error: MESSAGE" to stderr and end the job with `code`:
// MPI_Abort when MPI is running with more than one rank, exit otherwise.
[[noreturn]] void abortJob(const std::string& message, int code = 1);

// An error whose fix is in the user's hands (bad flag, bad input path): exit code 2.
class UsageError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

}  // namespace cropmap
