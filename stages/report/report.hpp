// `cropmap report`: one self-contained HTML page of a run's results,
// <run.output>/report/index.html, and the run's STAC metadata (stac.hpp).
//
// The page needs no network when viewed: CSS inline, plots as inline SVG
// drawn by svg.hpp, map quick-looks as base64 PNG data URIs. Sections appear
// when their source exists: configuration summary (the resolved
// configuration), maps with legend (maps/<tile>.png, the class band's
// category names and colour table), per-class table and confusion heatmap
// (train report.json), cross-validation folds (report.json "folds"),
// earlyrnn's stopping (report.json "stopping"), learning curves (the
// trainer's metrics.jsonl), clear observations per tile and period (the clear
// layers' per-period means), and benchmark scaling (<run.output>/bench/*.json).
// It is the last stage of `cropmap run` and runs every time.
#pragma once

#include <string>

#include "pipeline/cli/cli.hpp"
#include "pipeline/config.hpp"

namespace cropmap::report {

// The page for a run's outputs (rank 0); returns its path.
std::string writeReport(const Config& cfg);

// Standard base64 (RFC 4648, with padding).
std::string base64(const std::string& bytes);

}  // namespace cropmap::report

namespace cropmap {
Command reportCommand();
}
