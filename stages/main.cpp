// cropmap: the one executable. The command table is explicit on purpose: a
// newcomer finds every command and the stage folder that implements it here;
// the front end (pipeline/cli) knows nothing of the stages.
#include "stages/commands.hpp"
#include "stages/run/run.hpp"

int main(int argc, char** argv) {
  using namespace cropmap;
  std::vector<Command> commands = {
      versionCommand(),
      configCommand(),
      synthCommand(),
      catalogCommand(),
      compositeCommand(),
      legendCommand(),
      labelsCommand(),
      splitCommand(),
      sampleCommand(),
      trainCommand(),
      evaluateCommand(),
      cvCommand(),
      predictCommand(),
      reportCommand(),
      runCommand(),
      benchCommand(),
      planCommand(),
  };
  // A stage command run on its own makes the records of `cropmap run` from its stage on stale.
  for (auto& c : commands) c = standalone(c);
  return runCli(argc, argv, commands);
}
