// Fault injection for the tests of kills and resumes, in one place.
//
//   CROPMAP_FAULT_KILL=<stage>:<rank>:<units>[:before_commit]
//
// makes rank <rank> SIGKILL itself in stage <stage> (the label of a block
// stage's pass: composite, labels, predict, ...) right after its <units>-th
// unit: after the unit is committed to the stage's ledger, or with
// before_commit between writing the unit's data and committing it. Unset, it
// costs one getenv per stage.
#pragma once

#include <string>

namespace cropmap {

class FaultPlan {
 public:
  // The plan for `stage` on `rank` from the environment (inactive when it names another stage or rank).
  static FaultPlan fromEnv(const std::string& stage, int rank);
  // Call after each unit; kills the process when the plan says so.
  void afterUnit(long long unitsDone, bool committed) const;
  bool active() const { return units_ > 0; }

 private:
  long long units_ = 0;
  bool beforeCommit_ = false;
};

}  // namespace cropmap
