#include "tessera/mt/metrics_base.h"

#include <algorithm>
#include <cstdio>

#include "tessera/core/error.h"

namespace tessera::mt {

void Signature::set(const std::string& key, const std::string& abbreviation,
                    const std::string& value) {
  for (Field& field : fields_) {
    if (field.key == key) {
      field.value = value;
      return;
    }
  }
  fields_.push_back({key, abbreviation, value});
}

std::string Signature::format(bool short_form) const {
  std::string out;
  auto append = [&](const Field& field) {
    if (!out.empty()) out.push_back('|');
    out += short_form ? field.abbreviation : field.key;
    out.push_back(':');
    out += field.value;
  };
  for (const Field& field : fields_) {
    if (field.key != "version") append(field);
  }
  append({"version", "v", std::string(kSignatureVersion)});
  return out;
}

std::vector<std::pair<std::string, std::string>> Signature::fields() const {
  std::vector<std::pair<std::string, std::string>> out;
  for (const Field& field : fields_) {
    if (field.key != "version") out.emplace_back(field.key, field.value);
  }
  out.emplace_back("version", std::string(kSignatureVersion));
  return out;
}

std::string format_fixed(double value, int width) {
  char buffer[512];
  int length = std::snprintf(buffer, sizeof(buffer), "%.*f", std::clamp(width, 0, 100), value);
  if (length < 0) return "nan";
  if (static_cast<size_t>(length) < sizeof(buffer)) return std::string(buffer, length);
  std::string big(static_cast<size_t>(length) + 1, '\0');
  std::snprintf(big.data(), big.size(), "%.*f", std::clamp(width, 0, 100), value);
  big.resize(static_cast<size_t>(length));
  return big;
}

std::string MetricScore::format(int width, bool score_only, const std::string& signature) const {
  std::string score_text = format_fixed(score, width);
  // sacrebleu stores -1 when no bootstrap ran and prints the interval only for a mean > 0.
  if (bootstrap_mean && bootstrap_ci && *bootstrap_mean > 0) {
    score_text += " (μ = " + format_fixed(*bootstrap_mean, width) + " ± " +
                  format_fixed(*bootstrap_ci, width) + ")";
  }
  if (score_only) return score_text;
  std::string line = signature.empty() ? name : name + "|" + signature;
  line += " = " + score_text;
  if (!verbose.empty()) line += " " + verbose;
  return line;
}

nlohmann::json MetricScore::to_json(const Signature& signature) const {
  nlohmann::json out = nlohmann::json::object();
  out["name"] = name;
  out["score"] = score;
  out["signature"] = signature.format();
  if (!verbose.empty()) out["verbose_score"] = verbose;
  if (bootstrap_mean && bootstrap_ci) {
    out["confidence_mean"] = *bootstrap_mean;
    out["confidence_var"] = *bootstrap_ci;
  }
  for (const auto& [key, value] : signature.fields()) out[key] = value;
  if (!details.is_null()) out["details"] = details;
  return out;
}

void Metric::set_references(const References& references) {
  TESSERA_CHECK_INPUT(!references.empty(), "no reference given");
  size_t segments = references.front().size();
  for (size_t stream = 1; stream < references.size(); ++stream) {
    TESSERA_CHECK_INPUT(references[stream].size() == segments,
                        "reference {} has {} lines but reference 1 has {}", stream + 1,
                        references[stream].size(), segments);
  }
  prepare_references(references);
  num_segments_ = segments;
  num_references_ = references.size();
}

Signature Metric::signature() const {
  Signature signature;
  signature.set("nrefs", "#", std::to_string(num_references_));
  if (bootstrap_resamples_) {
    signature.set("bs", "bs", std::to_string(*bootstrap_resamples_));
    signature.set("seed", "rs", bootstrap_seed_);
  }
  add_signature_fields(signature);
  return signature;
}

void Metric::set_bootstrap_signature(int resamples, const std::string& seed) {
  bootstrap_resamples_ = resamples;
  bootstrap_seed_ = seed;
}

SegmentStatistics collect_statistics(const Metric& metric,
                                     const std::vector<std::string>& hypotheses) {
  TESSERA_CHECK_INPUT(hypotheses.size() == metric.num_segments(),
                      "the hypothesis has {} lines but the references have {}",
                      hypotheses.size(), metric.num_segments());
  SegmentStatistics statistics;
  statistics.num_segments = hypotheses.size();
  statistics.width = metric.num_statistics();
  statistics.values.assign(statistics.num_segments * statistics.width, 0.0);
  const int64_t segments = static_cast<int64_t>(hypotheses.size());
  // Segments differ a lot in length (TER's shift search is quadratic), hence dynamic chunks.
#pragma omp parallel for schedule(dynamic, 64)
  for (int64_t i = 0; i < segments; ++i) {
    metric.segment_statistics(static_cast<size_t>(i), hypotheses[static_cast<size_t>(i)],
                              statistics.values.data() + static_cast<size_t>(i) * statistics.width);
  }
  return statistics;
}

std::vector<double> sum_statistics(const SegmentStatistics& statistics) {
  std::vector<double> total(statistics.width, 0.0);
  for (size_t segment = 0; segment < statistics.num_segments; ++segment) {
    const double* row = statistics.row(segment);
    for (size_t j = 0; j < statistics.width; ++j) total[j] += row[j];
  }
  return total;
}

MetricScore corpus_score(const Metric& metric, const SegmentStatistics& statistics) {
  std::vector<double> total = sum_statistics(statistics);
  return metric.score_from_statistics(total.data());
}

std::vector<MetricScore> segment_scores(const Metric& metric,
                                        const SegmentStatistics& statistics) {
  std::vector<MetricScore> scores(statistics.num_segments);
  const int64_t segments = static_cast<int64_t>(statistics.num_segments);
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < segments; ++i) {
    scores[static_cast<size_t>(i)] = metric.score_from_statistics(statistics.row(static_cast<size_t>(i)));
  }
  return scores;
}

std::vector<std::string> align_score_lines(const std::vector<std::string>& lines) {
  size_t widest = 0;
  for (const std::string& line : lines) {
    size_t equals = line.find('=');
    if (equals != std::string::npos && equals > 0) widest = std::max(widest, equals - 1);
  }
  std::vector<std::string> out;
  out.reserve(lines.size());
  for (const std::string& line : lines) {
    size_t equals = line.find('=');
    if (equals == std::string::npos || equals == 0) {
      out.push_back(line);
      continue;
    }
    size_t left = equals - 1;
    out.push_back(std::string(widest - left, ' ') + line);
  }
  return out;
}

}  // namespace tessera::mt
