#pragma once
// Text and JSON reports for several systems, laid out like sacrebleu's (tabulate's
// fancy_grid table, the paired-test explanation, the signature list), without colours.
#include <nlohmann/json.hpp>

#include <string>
#include <vector>

#include "tessera/mt/metrics_significance.h"

namespace tessera::mt {

// tabulate(..., tablefmt="fancy_grid", colalign=("right",), stralign="center"): the first
// column right-aligned, the others centred, cells may hold several lines ('\n').
std::string render_grid_table(const std::vector<std::string>& headers,
                              const std::vector<std::vector<std::string>>& rows);

struct SystemScores {
  std::string system;
  std::vector<MetricScore> scores;  // one per metric, same order for every system
};

// sacrebleu's multi-system table (several --hyp files, no test): scores and signatures.
std::string format_systems_report(const std::vector<SystemScores>& systems,
                                  const std::vector<std::string>& signatures, int width);

// sacrebleu --paired-bs text output: the table (score, mean ± CI, p-value per system), the
// explanation of the test, and the metric signatures.
std::string format_paired_report(const std::vector<PairedMetricResult>& results, int resamples,
                                 int width, bool short_signature);

// One object per (system, metric) at full precision: system, baseline, name, score, mean,
// ci, p_value (null for the baseline), signature.
nlohmann::json paired_results_json(const std::vector<PairedMetricResult>& results);

}  // namespace tessera::mt
