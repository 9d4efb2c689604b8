// Stopping on a signal without losing work.
//
// SIGTERM and SIGINT (what Slurm and a user send first) and SIGUSR1 (what
// cropmap's Slurm scripts ask for ahead of a time limit, see slurm/) only set
// a flag. The long loops look at it between pieces of work — the block-stage
// driver between units, training between steps — agree across ranks, keep
// what is done (ledgers are written unit by unit; training writes a
// checkpoint), and end the command with `Interrupted`, which the front end
// turns into exit code 75 ("stopped: continue with --resume"). A second
// SIGINT or SIGTERM ends the process at once, as users expect of Ctrl-C.
#pragma once

#include <stdexcept>
#include <string>

namespace cropmap {

class Comm;

// The exit code of a run stopped by a signal with its work saved (EX_TEMPFAIL:
// try again). Slurm scripts requeue the job on it.
constexpr int kExitInterrupted = 75;

class Interrupted : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Installs the handlers (idempotent). The front end calls it for every command that starts MPI.
void installStopHandlers();
// The signal this process received (0: none).
int stopSignal();
bool stopRequested();
// "SIGTERM", "SIGINT", "SIGUSR1".
std::string signalName(int signal);
// Collective: the first signal any rank received (0: none), the same on every rank.
int stopAgreed(const Comm& comm);
// For tests: forget a received signal.
void clearStop();

}  // namespace cropmap
