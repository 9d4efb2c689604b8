#include "signals.hpp"

#include <atomic>
#include <csignal>
#include <cstring>

#include "mpi.hpp"

namespace cropmap {

namespace {

std::atomic<int> g_signal{0};

extern "C" void onStopSignal(int sig) {
  int none = 0;
  // The second SIGINT/SIGTERM: the user means it.
  if (!g_signal.compare_exchange_strong(none, sig) && (sig == SIGINT || sig == SIGTERM)) {
    std::signal(sig, SIG_DFL);
    std::raise(sig);
  }
}

}  // namespace

void installStopHandlers() {
  struct sigaction sa;
  std::memset(&sa, 0, sizeof sa);
  sa.sa_handler = onStopSignal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = SA_RESTART;  // MPI and file I/O in progress carry on; the loops look at the flag
  for (int sig : {SIGTERM, SIGINT, SIGUSR1}) sigaction(sig, &sa, nullptr);
}

int stopSignal() { return g_signal.load(); }
bool stopRequested() { return g_signal.load() != 0; }
void clearStop() { g_signal.store(0); }

std::string signalName(int sig) {
  switch (sig) {
    case SIGTERM: return "SIGTERM";
    case SIGINT: return "SIGINT";
    case SIGUSR1: return "SIGUSR1";
    default: return "signal " + std::to_string(sig);
  }
}

int stopAgreed(const Comm& comm) { return comm.max(stopSignal(), "stop signal"); }

}  // namespace cropmap
