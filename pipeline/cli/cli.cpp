#include "cli.hpp"

#include <boost/program_options.hpp>
#include <cstdio>
#include <iostream>

#include "../log.hpp"
#include "../memory.hpp"
#include "../progress.hpp"
#include "../paths.hpp"
#include "../run_lock.hpp"
#include "../signals.hpp"
#include "../version.hpp"

namespace po = boost::program_options;

namespace cropmap {

namespace {

void printUsage(std::ostream& os, const std::vector<Command>& commands) {
  os << "cropmap " << cropmapVersion()
     << " - crop-type maps from Sentinel-2 time series on HPC clusters\n\n"
        "usage: cropmap <command> [--config FILE.yaml] [--set section.key=value ...] [flags]\n"
        "       mpirun -n N cropmap <command> ...   |   srun --mpi=pmix cropmap <command> ...\n\n"
        "commands:\n";
  for (const auto& c : commands) {
    os << "  " << c.name << std::string(c.name.size() < 12 ? 12 - c.name.size() : 1, ' ') << c.summary << "\n";
  }
  os << "\nRun 'cropmap <command> --help' for a command's flags; 'cropmap config --dump' lists every option.\n";
}

const Command* findCommand(const std::vector<Command>& commands, const std::string& name) {
  for (const auto& c : commands)
    if (c.name == name) return &c;
  return nullptr;
}

po::options_description commonOptions(const Command& c) {
  po::options_description common("common flags");
  common.add_options()("help,h", "show this help");
  if (c.usesConfig) {
    common.add_options()("config,c", po::value<std::string>(), "configuration file (YAML)")(
        "set", po::value<std::vector<std::string>>()->composing(),
        "override one option: section.key=value (repeatable)")(
        "log-level", po::value<std::string>(), "debug|info|warn|error (overrides log.level)");
  }
  if (c.usesMpi) common.add_options()("resume", "continue an interrupted run where it stopped");
  return common;
}

// Agree across ranks whether loading failed, so that no rank goes on into a
// collective while another exits. Returns the lowest failing rank, or -1.
int lowestFailingRank(MpiRuntime* mpi, bool failed) {
  if (!mpi || mpi->size() == 1) return failed ? 0 : -1;
  int mine = failed ? mpi->rank() : mpi->size();
  int lowest = mpi->size();
  MPI_Allreduce(&mine, &lowest, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD);
  return lowest == mpi->size() ? -1 : lowest;
}

std::string commandLine(int argc, char** argv) {
  std::string s = "cropmap";
  for (int i = 1; i < argc; ++i) s += std::string(" ") + argv[i];
  return s;
}

// The end of a command that threw. An error every rank met (collective code,
// a stop signal) is printed once by rank 0 and the job ends normally with its
// code; an error of some ranks only is printed by them and aborts the job, so
// that no rank waits forever in a collective.
int fail(CommandContext& ctx, const Command& cmd, const std::string& message, int code) {
  const auto prefix = [&](const std::string& m) {
    if (code == kExitInterrupted) return "cropmap " + cmd.name + ": " + m;
    if (code == 2) return "cropmap " + cmd.name + ": error: " + m;
    return "[rank " + std::to_string(ctx.rank()) + "] error: " + m;
  };
  if (!ctx.mpi || ctx.size() == 1) {
    std::cerr << prefix(message) << "\n";
    return code;
  }
  const auto agreed = ctx.mpi->agreeOnFailure(message, code, 3.0);
  if (!agreed.everyRank) abortJob(message, code);
  if (ctx.rank() == 0)
    for (const auto& m : agreed.messages) std::cerr << prefix(m) << "\n";
  return agreed.code;
}

}  // namespace

int runCli(int argc, char** argv, const std::vector<Command>& commands) {
  if (argc < 2) {
    printUsage(std::cerr, commands);
    return 2;
  }
  const std::string name = argv[1];
  if (name == "--help" || name == "-h" || name == "help") {
    printUsage(std::cout, commands);
    return 0;
  }
  const Command* cmd = findCommand(commands, name == "--version" ? "version" : name);
  if (!cmd) {
    std::cerr << "cropmap: '" << name << "' is not a cropmap command; run 'cropmap --help' for the list\n";
    return 2;
  }

  po::options_description own(cmd->name + " flags");
  po::positional_options_description positional;
  if (cmd->addOptions) cmd->addOptions(own, positional);
  po::options_description all;
  all.add(commonOptions(*cmd)).add(own);

  CommandContext ctx;
  try {
    std::vector<std::string> rest(argv + 2, argv + argc);
    po::store(po::command_line_parser(rest).options(all).positional(positional).run(), ctx.args);
    po::notify(ctx.args);
  } catch (const po::error& e) {
    std::cerr << "cropmap " << cmd->name << ": " << e.what() << "; run 'cropmap " << cmd->name << " --help'\n";
    return 2;
  }
  if (ctx.args.count("help")) {
    std::cout << "usage: cropmap " << cmd->name << " [flags]\n\n" << cmd->summary << "\n";
    if (!cmd->description.empty()) std::cout << "\n" << cmd->description << "\n";
    std::cout << "\n" << all << "\n";
    return 0;
  }
  ctx.resume = ctx.args.count("resume") > 0;

  std::unique_ptr<MpiRuntime> mpi;
  if (cmd->usesMpi) {
    try {
      mpi = std::make_unique<MpiRuntime>(&argc, &argv);
    } catch (const std::exception& e) {
      std::cerr << "cropmap: cannot start MPI: " << e.what() << "\n";
      return 1;
    }
    ctx.mpi = mpi.get();
  }
  const int rank = ctx.rank();

  // Configuration: every rank loads and validates before any collective work.
  std::string configError;
  if (cmd->usesConfig) {
    try {
      std::string file = ctx.args.count("config") ? ctx.args["config"].as<std::string>() : "";
      std::vector<std::string> sets =
          ctx.args.count("set") ? ctx.args["set"].as<std::vector<std::string>>() : std::vector<std::string>{};
      ctx.config = Config::load(file, sets);
      if (ctx.args.count("log-level")) {
        const std::string lvl = ctx.args["log-level"].as<std::string>();
        log::parseLevel(lvl);  // throws on a bad name
        ctx.config.log.level = lvl;
      }
    } catch (const ConfigError& e) {
      configError = e.what();
    } catch (const std::invalid_argument& e) {
      configError = std::string("--log-level: ") + e.what();
    }
  }
  const int failing = lowestFailingRank(ctx.mpi, !configError.empty());
  if (failing >= 0) {
    if (rank == failing) std::cerr << "cropmap " << cmd->name << ": error: " << configError << "\n";
    return 2;  // MpiRuntime's destructor finalises on every rank
  }
  log::configure(rank, log::parseLevel(ctx.config.log.level), ctx.config.log.all_ranks);
  if (cmd->usesConfig) MemoryBudget(ctx.config.compute.memory_mb).applyToGdal();
  Progress::setInterval(ctx.config.log.progress_interval);

  if (cmd->usesMpi) installStopHandlers();
  std::string message;
  int code = 1;
  try {
    std::unique_ptr<RunLock> lock;
    const OutputUse use = cmd->outputUse ? cmd->outputUse(ctx.args) : OutputUse::Exclusive;
    if (cmd->usesMpi && cmd->locksOutput && cmd->usesConfig && use == OutputUse::Exclusive) {
      lock = RunLock::acquire(ctx.config.run.output, commandLine(argc, argv), Comm(ctx.comm()));
      // Holding the lock, every temporary file below run.output is a killed job's.
      if (ctx.rank() == 0)
        if (const int n = removeStaleTemporaries(ctx.config.run.output))
          log::info("removed ", n, " temporary file(s) left below ", ctx.config.run.output, " by an interrupted job");
    }
    return cmd->run(ctx);
  } catch (const ConfigError& e) {
    message = e.what();
    code = 2;
  } catch (const UsageError& e) {
    message = e.what();
    code = 2;
  } catch (const Interrupted& e) {
    message = e.what();
    code = kExitInterrupted;
  } catch (const std::exception& e) {
    message = cmd->name + ": " + e.what();
  }
  return fail(ctx, *cmd, message, code);
}

// ---------------------------------------------------------------------------
// Built-in commands

Command configCommand() {
  Command c;
  c.name = "config";
  c.summary = "check a configuration, or print every option with its default and doc (--dump)";
  c.description =
      "Without --config, --dump prints the complete default configuration as annotated YAML that\n"
      "loads back unchanged. With --config (and --set), it validates that file and --dump prints the\n"
      "effective configuration; exit code 2 and FILE:LINE: key '...' on any problem.";
  c.usesMpi = false;
  c.addOptions = [](po::options_description& o, po::positional_options_description&) {
    o.add_options()("dump", "print the (effective) configuration as annotated YAML")(
        "plain", "with --dump: values only, no comments");
  };
  c.run = [](CommandContext& ctx) {
    if (ctx.args.count("dump")) {
      std::cout << (ctx.args.count("plain") ? ctx.config.yaml() : ctx.config.dump());
      return 0;
    }
    if (ctx.config.source.empty()) {
      std::cerr << "cropmap config: nothing to do; give --config FILE to check it, or --dump\n";
      return 2;
    }
    std::cout << ctx.config.source << ": ok\n";
    return 0;
  };
  return c;
}

}  // namespace cropmap
