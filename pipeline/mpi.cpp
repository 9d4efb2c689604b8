#include "mpi.hpp"

#include <cstdio>
#include <algorithm>
#include <cstdlib>
#include <unistd.h>

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
  MPI_Comm_dup(MPI_COMM_WORLD, &errors_);
}

MpiRuntime::~MpiRuntime() {
  int finalised = 0;
  MPI_Finalized(&finalised);
  if (!finalised && errors_ != MPI_COMM_NULL) MPI_Comm_free(&errors_);
  if (initialisedHere_ && !finalised) MPI_Finalize();
}

MpiRuntime::Failure MpiRuntime::agreeOnFailure(const std::string& message, int code, double seconds) {
  Failure f;
  f.code = code;
  if (size_ == 1 || errors_ == MPI_COMM_NULL) {
    f.everyRank = true;
    f.messages = {message};
    return f;
  }
  int one = 1, failed = 0;
  MPI_Request req = MPI_REQUEST_NULL;
  if (MPI_Iallreduce(&one, &failed, 1, MPI_INT, MPI_SUM, errors_, &req) != MPI_SUCCESS) return f;
  const double deadline = MPI_Wtime() + seconds;
  int done = 0;
  while (!done && MPI_Wtime() < deadline) {
    MPI_Test(&req, &done, MPI_STATUS_IGNORE);
    if (!done) usleep(10000);
  }
  if (!done || failed != size_) return f;  // some ranks are elsewhere: abort
  f.everyRank = true;
  MPI_Allreduce(&code, &f.code, 1, MPI_INT, MPI_MAX, errors_);
  const Comm c(errors_);
  for (const auto& m : c.gatherText(message, "error messages"))
    if (std::find(f.messages.begin(), f.messages.end(), m) == f.messages.end()) f.messages.push_back(m);
  return f;
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

Comm::Comm(MPI_Comm comm) : comm_(comm), serial_(false) {
  CROPMAP_MPI(MPI_Comm_rank(comm, &rank_));
  CROPMAP_MPI(MPI_Comm_size(comm, &size_));
}

void Comm::barrier(const char* hint) const {
  if (!serial_) CROPMAP_MPI_HINT(MPI_Barrier(comm_), hint);
}

void Comm::bcastBytes(void* data, size_t bytes, int from, const char* hint) const {
  // Large broadcasts go in pieces below MPI's int count limit.
  auto* p = static_cast<unsigned char*>(data);
  constexpr size_t kPiece = size_t{1} << 30;
  for (size_t done = 0; done < bytes; done += kPiece)
    CROPMAP_MPI_HINT(MPI_Bcast(p + done, static_cast<int>(std::min(kPiece, bytes - done)), MPI_BYTE, from, comm_), hint);
}

std::string Comm::bcast(std::string text, const char* hint, int from) const {
  const auto n = bcast<std::int64_t>(static_cast<std::int64_t>(text.size()), hint, from);
  text.resize(static_cast<size_t>(n));
  if (!serial_ && n > 0) bcastBytes(text.data(), static_cast<size_t>(n), from, hint);
  return text;
}

std::vector<long long> Comm::gatherCounts(long long n, bool all, int to, const char* hint) const {
  std::vector<long long> counts(static_cast<size_t>(size_), 0);
  if (serial_) {
    counts[0] = n;
    return counts;
  }
  if (all) CROPMAP_MPI_HINT(MPI_Allgather(&n, 1, MPI_LONG_LONG, counts.data(), 1, MPI_LONG_LONG, comm_), hint);
  else CROPMAP_MPI_HINT(MPI_Gather(&n, 1, MPI_LONG_LONG, counts.data(), 1, MPI_LONG_LONG, to, comm_), hint);
  if (!all && rank_ != to) counts.assign(counts.size(), 0);
  return counts;
}

void Comm::gathervRaw(const void* mine, size_t n, size_t width, const std::vector<long long>& counts, bool all, int to,
                      const char* hint, void* out) const {
  if (serial_) {
    if (n) std::memcpy(out, mine, n * width);
    return;
  }
  std::vector<int> bytes(counts.size()), displs(counts.size());
  long long total = 0;
  for (size_t r = 0; r < counts.size(); ++r) {
    const long long b = counts[r] * static_cast<long long>(width);
    if (b > 2147483647LL || total > 2147483647LL)
      throw std::runtime_error(std::string("gather (") + hint + "): more than 2 GiB on one rank; run on more ranks");
    bytes[r] = static_cast<int>(b);
    displs[r] = static_cast<int>(total);
    total += b;
  }
  const int mineBytes = static_cast<int>(n * width);
  if (all)
    CROPMAP_MPI_HINT(MPI_Allgatherv(mine, mineBytes, MPI_BYTE, out, bytes.data(), displs.data(), MPI_BYTE, comm_), hint);
  else
    CROPMAP_MPI_HINT(MPI_Gatherv(mine, mineBytes, MPI_BYTE, out, bytes.data(), displs.data(), MPI_BYTE, to, comm_), hint);
}

std::string Comm::allgatherv(const std::string& mine, const char* hint) const {
  std::string all;
  gathervBytes(mine.data(), mine.size(), 1, true, 0, hint, all);
  return all;
}

std::vector<std::string> Comm::gatherText(const std::string& mine, const char* hint, int to) const {
  const std::vector<long long> counts = gatherCounts(static_cast<long long>(mine.size()), false, to, hint);
  std::string all;
  long long total = 0;
  for (long long c : counts) total += c;
  all.resize(static_cast<size_t>(total));
  gathervRaw(mine.data(), mine.size(), 1, counts, false, to, hint, all.data());
  std::vector<std::string> out;
  if (rank_ != to) return out;
  size_t at = 0;
  for (long long c : counts) {
    out.push_back(all.substr(at, static_cast<size_t>(c)));
    at += static_cast<size_t>(c);
  }
  return out;
}

std::vector<unsigned char> Comm::exchangeBytes(const std::vector<const void*>& data, const std::vector<size_t>& counts,
                                               size_t width, const char* hint, std::vector<size_t>& received) const {
  if (counts.size() != static_cast<size_t>(size_))
    throw std::invalid_argument(std::string("exchange (") + hint + "): one bucket per rank expected");
  if (serial_) {
    received = {counts[0]};
    std::vector<unsigned char> out(counts[0] * width);
    if (!out.empty()) std::memcpy(out.data(), data[0], out.size());
    return out;
  }
  const size_t S = static_cast<size_t>(size_);
  std::vector<long long> sendBytes(S), recvBytes(S);
  for (size_t r = 0; r < S; ++r) sendBytes[r] = static_cast<long long>(counts[r] * width);
  CROPMAP_MPI_HINT(MPI_Alltoall(sendBytes.data(), 1, MPI_LONG_LONG, recvBytes.data(), 1, MPI_LONG_LONG, comm_), hint);
  std::vector<int> sc(S), sd(S), rc(S), rd(S);
  long long st = 0, rt = 0;
  for (size_t r = 0; r < S; ++r) {
    if (st > 2147483647LL || rt > 2147483647LL || sendBytes[r] > 2147483647LL || recvBytes[r] > 2147483647LL)
      throw std::runtime_error(std::string("record exchange (") + hint +
                               "): more than 2 GiB between two ranks; run on more ranks");
    sd[r] = static_cast<int>(st);
    sc[r] = static_cast<int>(sendBytes[r]);
    rd[r] = static_cast<int>(rt);
    rc[r] = static_cast<int>(recvBytes[r]);
    st += sendBytes[r];
    rt += recvBytes[r];
  }
  std::vector<unsigned char> send(static_cast<size_t>(st)), recv(static_cast<size_t>(rt));
  for (size_t r = 0; r < S; ++r)
    if (sc[r]) std::memcpy(send.data() + sd[r], data[r], static_cast<size_t>(sc[r]));
  CROPMAP_MPI_HINT(
      MPI_Alltoallv(send.data(), sc.data(), sd.data(), MPI_BYTE, recv.data(), rc.data(), rd.data(), MPI_BYTE, comm_),
      hint);
  received.resize(S);
  for (size_t r = 0; r < S; ++r) received[r] = static_cast<size_t>(rc[r]) / width;
  return recv;
}

void checkMpi(int rc, const char* call, const char* file, int line, const char* hint) {
  if (rc == MPI_SUCCESS) return;
  char text[MPI_MAX_ERROR_STRING] = {0};
  int len = 0;
  MPI_Error_string(rc, text, &len);
  std::string name = call;
  if (const auto paren = name.find('('); paren != std::string::npos) name.resize(paren);
  throw std::runtime_error(std::string("MPI error in ") + name + (hint ? std::string(" (") + hint + ")" : "") +
                           " at " + file + ":" + std::to_string(line) + ": " +
                           std::string(text, static_cast<size_t>(len)));
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
