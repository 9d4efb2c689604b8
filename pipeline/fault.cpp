#include "fault.hpp"

#include <csignal>
#include <cstdlib>
#include <sstream>
#include <vector>

namespace cropmap {

FaultPlan FaultPlan::fromEnv(const std::string& stage, int rank) {
  FaultPlan f;
  const char* s = std::getenv("CROPMAP_FAULT_KILL");
  if (!s) return f;
  std::vector<std::string> parts;
  std::stringstream in(s);
  std::string p;
  while (std::getline(in, p, ':')) parts.push_back(p);
  if (parts.size() < 3 || parts[0] != stage || std::atoi(parts[1].c_str()) != rank) return f;
  f.units_ = std::atoll(parts[2].c_str());
  f.beforeCommit_ = parts.size() > 3 && parts[3] == "before_commit";
  return f;
}

void FaultPlan::afterUnit(long long unitsDone, bool committed) const {
  if (units_ > 0 && unitsDone == units_ && committed != beforeCommit_) std::raise(SIGKILL);
}

}  // namespace cropmap
