// cropmap: the one executable. The command table is explicit on purpose: a
// newcomer finds every command and the stage that implements it here.
#include "stages/commands.hpp"
#include "cli.hpp"

int main(int argc, char** argv) {
  using namespace cropmap;
  const std::vector<Command> commands = {
      versionCommand(),
      configCommand(),
      synthCommand(),
      catalogCommand(),
      compositeCommand(),
      labelsCommand(),
      splitCommand(),
      sampleCommand(),
      trainCommand(),
      evaluateCommand(),
      predictCommand(),
      runCommand(),
      benchCommand(),
  };
  return runCli(argc, argv, commands);
}
