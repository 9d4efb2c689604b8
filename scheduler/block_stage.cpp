#include "block_stage.hpp"

#include <chrono>
#include <exception>
#include <stdexcept>
#include <thread>

#include "mpi_scheduler.hpp"
#include "pipeline/fault.hpp"
#include "pipeline/log.hpp"
#include "pipeline/progress.hpp"
#include "pipeline/signals.hpp"

namespace cropmap {

namespace {

using Clock = std::chrono::steady_clock;
double since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

// The units of a contiguous run: rank r of n takes [N r / n, N (r+1) / n) of the pending list.
std::vector<WorkUnit> contiguousShare(const std::vector<WorkUnit>& pending, int rank, int size) {
  const size_t n = pending.size();
  const size_t b = n * static_cast<size_t>(rank) / static_cast<size_t>(size);
  const size_t e = n * static_cast<size_t>(rank + 1) / static_cast<size_t>(size);
  return std::vector<WorkUnit>(pending.begin() + static_cast<std::ptrdiff_t>(b),
                               pending.begin() + static_cast<std::ptrdiff_t>(e));
}

// A fixed list of this rank's units.
class ListSource : public UnitSource {
 public:
  explicit ListSource(std::vector<WorkUnit> units) : units_(std::move(units)) {}
  std::optional<WorkUnit> next() override {
    if (pos_ >= units_.size()) return std::nullopt;
    return units_[pos_++];
  }

 private:
  std::vector<WorkUnit> units_;
  size_t pos_ = 0;
};

std::unique_ptr<UnitSource> sourceFor(const UnitPlan& plan, const std::vector<WorkUnit>& pending, const Comm& comm) {
  switch (plan.assignment) {
    case Assignment::lpt: return makeStaticSource(pending, comm.raw());
    case Assignment::dynamic: return makeDynamicSource(pending, comm.raw());
    case Assignment::contiguous: return std::make_unique<ListSource>(contiguousShare(pending, comm.rank(), comm.size()));
    case Assignment::replay: return std::make_unique<ListSource>(plan.replay);
  }
  throw std::logic_error("unknown assignment");
}

std::string unitName(const UnitPlan& plan, const WorkUnit& u) {
  const std::string tile = u.tile >= 0 && static_cast<size_t>(u.tile) < plan.tiles.size()
                               ? plan.tiles[static_cast<size_t>(u.tile)]
                               : std::to_string(u.tile);
  return describeUnit(u, tile, plan.blockEdge);
}

}  // namespace

Assignment assignmentOf(const std::string& scheduler) {
  if (scheduler == "static") return Assignment::lpt;
  if (scheduler == "dynamic") return Assignment::dynamic;
  throw std::invalid_argument("unknown scheduler '" + scheduler + "' (static|dynamic)");
}

void BlockStage::problem(const std::string& what) {
  const std::string text = name_ + " " + current_ + ": " + what;
  log::warn(text);
  problems_.push_back(text);
}

PassResult runBlockStage(BlockStage& stage, const Comm& comm) {
  const UnitPlan plan = stage.prepare(comm);
  PassResult result;
  if (plan.complete) {
    result.complete = true;
    return result;
  }
  const std::vector<WorkUnit> pending = pendingUnits(plan.units, plan.done);
  const auto total = static_cast<std::int64_t>(pending.size());
  result.resumed = static_cast<std::int64_t>(plan.units.size()) - total;
  // What a resumed run finished before counts towards the totals: each done
  // unit is recounted by one rank (round-robin).
  for (size_t i = 0; i < plan.done.size() && i < plan.units.size(); ++i)
    if (plan.done[i] && static_cast<int>(i % static_cast<size_t>(comm.size())) == comm.rank())
      stage.recount(plan.units[i]);

  const FaultPlan fault = FaultPlan::fromEnv(stage.name(), comm.rank());
  const auto loopStart = Clock::now();
  double busy = 0;
  {
    // Job-wide progress: ranks count finished units in a one-sided counter
    // that rank 0 reads, so the ETA covers the whole job, not rank 0's share.
    // `left` counts the ranks out of the loop, which may be before the last
    // unit when a signal stopped them.
    SharedCounter finished(comm.raw()), left(comm.raw());
    Progress progress(stage.name(), total, "blocks", comm.root());
    auto source = sourceFor(plan, pending, comm);
    while (!stopRequested()) {
      const auto u = source->next();
      if (!u) break;
      const auto t0 = Clock::now();
      stage.current_ = unitName(plan, *u);
      try {
        stage.process(*u);
        fault.afterUnit(static_cast<long long>(result.mine.size()) + 1, false);
        stage.commit(*u);
      } catch (const UsageError& e) {
        throw UsageError(stage.name() + " " + stage.current_ + ": " + e.what());
      } catch (const std::exception& e) {
        throw std::runtime_error(stage.name() + " " + stage.current_ + ": " + e.what());
      }
      result.mine.push_back(*u);
      fault.afterUnit(static_cast<long long>(result.mine.size()), true);
      busy += since(t0);
      finished.fetchAdd(1);
      if (comm.root()) progress.set(finished.read());
    }
    stage.current_.clear();
    left.fetchAdd(1);
    // Rank 0 keeps the progress line alive until the other ranks are out of the loop.
    if (comm.root())
      while (left.read() < comm.size()) {
        progress.set(finished.read());
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
      }
    progress.set(finished.read());
    progress.finish();
  }
  if (const int sig = stopAgreed(comm)) {
    const auto done = comm.sum(static_cast<std::int64_t>(result.mine.size()), "block stage: units done");
    stage.stop(comm);
    throw Interrupted(stage.name() + ": stopped by " + signalName(sig) + " after " + std::to_string(done) + " of " +
                      std::to_string(total) + " units; the finished units are recorded, continue with --resume");
  }
  result.wall = comm.max(since(loopStart), "block stage: unit loop time");
  result.processed = total;
  result.load = gatherLoad(busy, static_cast<std::int64_t>(result.mine.size()), comm.raw());
  std::string mine;
  for (const auto& p : stage.problems_) mine += p + "\n";
  for (const auto& text : comm.gatherText(mine, "block stage: problems"))
    for (size_t at = 0; at < text.size();) {
      const size_t nl = text.find('\n', at);
      result.problems.push_back(text.substr(at, nl - at));
      at = nl + 1;
    }
  stage.problems_.clear();
  if (comm.root() && total > 0)
    log::info(stage.name(), ": ", total, " units on ", comm.size(), " rank(s) in ", Progress::formatDuration(result.wall),
              result.resumed ? " (" + std::to_string(result.resumed) + " done before the resume)" : std::string(),
              "\n", result.load.text());
  stage.finish(comm, result);
  return result;
}

}  // namespace cropmap
