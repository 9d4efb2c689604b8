// The frame every block stage runs in: composite, labels, split, sample and
// predict are each a set of hooks on it, in the manner of PDAL's stages.
//
//   prepare (collective)  open inputs and outputs, create layers and ledgers,
//                         and plan the work units (tile x block) with the
//                         units already done before a resume
//   process (this rank)   one unit: read, compute, write
//   commit  (this rank)   after the unit's data are written: mark the ledger
//   recount (one rank)    a unit done before the resume: add what it
//                         contributes to the stage's totals
//   finish  (collective)  reductions, summaries, files of the whole stage
//   stop    (collective)  instead of finish, when a signal stopped the loop:
//                         close outputs so that they hold every finished unit
//
// The driver owns what every stage used to repeat: handing units to ranks
// (static LPT, a dynamic one-sided counter, contiguous runs, or a replay of an
// earlier pass's units), the pending list after a resume, job-wide progress
// with rate and ETA on rank 0, the context of an error ("labels tile 33UVP
// block (2,5): ..."), problems that skip part of a unit (listed once on rank
// 0), fault injection for the kill tests (pipeline/fault.hpp), and the load
// report, and stopping on a signal (pipeline/signals.hpp): a rank takes no
// new unit once it has one, the ranks agree after the loop, and the driver
// calls stop() and throws Interrupted. A stage with several passes over its
// units (split votes, then writes) runs one BlockStage per pass.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "pipeline/mpi.hpp"
#include "work_units.hpp"

namespace cropmap {

// How a pass hands its units to the ranks.
enum class Assignment {
  lpt,         // each rank its static LPT share, computed alike on every rank
  dynamic,     // the next unit to whichever rank is free (one-sided counter, no master)
  contiguous,  // rank r takes the r-th contiguous run of the list: rows that ranks
               // write in rank order come out in unit order
  replay       // exactly the units given in UnitPlan::replay, in that order
};
// compute.scheduler: "static" or "dynamic".
Assignment assignmentOf(const std::string& scheduler);

struct UnitPlan {
  std::vector<WorkUnit> units;     // every unit of the pass, the same list on every rank
  std::vector<std::uint8_t> done;  // units complete before this run (resume); empty: none
  Assignment assignment = Assignment::dynamic;
  std::vector<WorkUnit> replay;    // Assignment::replay: this rank's units
  std::vector<std::string> tiles;  // tile names, for messages
  int blockEdge = 1;               // block edge in pixels, for messages
  bool complete = false;           // the stage's outputs exist already: no unit runs, no finish()
};

struct PassResult {
  std::vector<WorkUnit> mine;         // the units this rank processed, in order
  std::int64_t processed = 0;         // units processed in this run, job-wide
  std::int64_t resumed = 0;           // units complete before this run, job-wide
  LoadReport load;                    // busy time per rank in the unit loop
  double wall = 0;                    // of the unit loop, max over ranks
  std::vector<std::string> problems;  // every rank's problems, on rank 0 only, in rank order
  bool complete = false;              // the plan said complete: nothing ran
};

class BlockStage {
 public:
  explicit BlockStage(std::string name) : name_(std::move(name)) {}
  virtual ~BlockStage() = default;
  BlockStage(const BlockStage&) = delete;
  BlockStage& operator=(const BlockStage&) = delete;

  // What logs, progress and fault injection call the pass ("composite", "split (votes)").
  const std::string& name() const { return name_; }

  virtual UnitPlan prepare(const Comm& comm) = 0;
  virtual void process(const WorkUnit& unit) = 0;
  virtual void commit(const WorkUnit&) {}
  virtual void recount(const WorkUnit&) {}
  virtual void finish(const Comm& comm, const PassResult& result) = 0;
  virtual void stop(const Comm&) {}

 protected:
  // A problem that leaves part of the current unit out (a scene that fails to
  // read) but does not stop the stage: warned at once with the unit's context
  // and listed in PassResult::problems.
  void problem(const std::string& what);

 private:
  friend PassResult runBlockStage(BlockStage& stage, const Comm& comm);
  std::string name_;
  std::string current_;  // "tile 33UVP block (2,5)" of the unit in process()
  std::vector<std::string> problems_;
};

// Collective: prepare, the unit loop, finish. An exception from process() or
// commit() is rethrown with the stage and unit prefixed (a UsageError stays
// one); the CLI then aborts the job. A stop signal ends the loop early: stop()
// runs and Interrupted is thrown on every rank.
PassResult runBlockStage(BlockStage& stage, const Comm& comm);

}  // namespace cropmap
