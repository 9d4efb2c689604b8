// `cropmap legend --from-csv TABLE --output LEGEND.yaml`: a legend built from an
// official code table (the RPG crop-code table, an EuroCrops HCAT mapping),
// optionally grouped by a class map; see legendFromTable in pipeline/legend.hpp.
#include <boost/program_options.hpp>

#include <filesystem>
#include <iostream>

#include "pipeline/json.hpp"
#include "pipeline/legend.hpp"
#include "pipeline/log.hpp"
#include "pipeline/mpi.hpp"
#include "stages/commands.hpp"

namespace cropmap {

namespace po = boost::program_options;

namespace {

std::string arg(const CommandContext& ctx, const char* name) {
  return ctx.args.count(name) ? ctx.args[name].as<std::string>() : std::string();
}

int runLegend(CommandContext& ctx) {
  const auto tables = ctx.args.count("from-csv") ? ctx.args["from-csv"].as<std::vector<std::string>>()
                                                 : std::vector<std::string>{};
  const std::string output = arg(ctx, "output");
  if (tables.empty()) throw UsageError("legend: give --from-csv TABLE (a code table: RPG or EuroCrops mapping CSV)");
  if (output.empty()) throw UsageError("legend: give --output LEGEND.yaml");
  std::string text;
  CodeTable t;
  try {
    std::vector<CodeTable> read;
    for (const auto& table : tables)
      read.push_back(CodeTable::read(table, arg(ctx, "code-column"), arg(ctx, "name-column"), arg(ctx, "class-column")));
    t = CodeTable::combine(read);
    text = legendFromTable(t, arg(ctx, "classes"), arg(ctx, "name"));
  } catch (const std::exception& e) {
    throw UsageError(std::string("legend: ") + e.what());
  }
  const Legend l = Legend::parse(text, output);
  if (!std::filesystem::path(output).parent_path().empty())
    std::filesystem::create_directories(std::filesystem::path(output).parent_path());
  writeTextAtomically(output, text);
  std::size_t mapped = 0;
  for (const auto& c : l.classes) mapped += c.codes.size();
  std::cout << output << ": " << l.classes.size() << " classes over " << mapped << " of " << t.rows.size()
            << " codes of " << t.file << " (" << t.codeColumn << " -> " << t.classColumn << "), " << l.ignore.size()
            << " ignored";
  if (t.continuations) std::cout << "; " << t.continuations << " continuation rows without a code skipped";
  std::cout << "\n";
  return 0;
}

}  // namespace

Command legendCommand() {
  Command c;
  c.name = "legend";
  c.summary = "build a legend YAML from an official code table (RPG codes, EuroCrops HCAT mapping)";
  c.description =
      "Reads a CSV code table (',' or ';'), one row per register code with its name and class: the French RPG\n"
      "table (CODE_CULTURE;LIBELLE_CULTURE;CODE_GROUPE_CULTURE;LIBELLE_GROUPE_CULTURE) or an EuroCrops\n"
      "country mapping (original_code,original_name,...,HCAT3_name,HCAT3_code). Without --classes every class\n"
      "of the table becomes a legend class; with --classes MAP.yaml the map's classes take the table classes\n"
      "listed under `from` and the codes under `codes`. The legend records the table (name, fnv1a), the\n"
      "columns used and every code's name. Columns are found from the header unless named. Several\n"
      "--from-csv tables (e.g. the EuroCrops mappings of two countries) make one cross-country legend:\n"
      "the same class ids for every register, codes that must differ between the tables.";
  c.usesConfig = false;
  c.usesMpi = false;
  c.addOptions = [](po::options_description& o, po::positional_options_description&) {
    o.add_options()("from-csv", po::value<std::vector<std::string>>()->composing(),
                    "the code table (CSV); repeat it for one legend over several countries' tables")(
        "output", po::value<std::string>(), "legend YAML to write")(
        "classes", po::value<std::string>(), "class map YAML grouping the table's classes and codes")(
        "name", po::value<std::string>(), "legend name (default: the class map's, else 'legend')")(
        "code-column", po::value<std::string>(), "column of the register code")(
        "name-column", po::value<std::string>(), "column of the code's name")(
        "class-column", po::value<std::string>(), "column of the code's class");
  };
  c.run = runLegend;
  return c;
}

}  // namespace cropmap
