#include "tessera/mt/metrics_bleu.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>

#include "tessera/core/error.h"
#include "tessera/mt/metrics_ngrams.h"
#include "tessera/mt/metrics_unicode.h"

namespace tessera::mt {

BleuSmoothing parse_bleu_smoothing(const std::string& name) {
  if (name == "none") return BleuSmoothing::None;
  if (name == "floor") return BleuSmoothing::Floor;
  if (name == "add-k") return BleuSmoothing::AddK;
  if (name == "exp") return BleuSmoothing::Exp;
  throw bad_input("unknown BLEU smoothing method '{}' (expected exp, floor, add-k or none)", name);
}

std::string bleu_smoothing_name(BleuSmoothing smoothing) {
  switch (smoothing) {
    case BleuSmoothing::None:
      return "none";
    case BleuSmoothing::Floor:
      return "floor";
    case BleuSmoothing::AddK:
      return "add-k";
    case BleuSmoothing::Exp:
      return "exp";
  }
  return "exp";
}

namespace {

std::optional<double> default_smooth_value(BleuSmoothing smoothing) {
  if (smoothing == BleuSmoothing::Floor) return 0.1;
  if (smoothing == BleuSmoothing::AddK) return 1.0;
  return std::nullopt;
}

// sacrebleu's my_log: log with log(0) floored to -9999999999.
double floored_log(double value) { return value == 0.0 ? -9999999999.0 : std::log(value); }

}  // namespace

BleuResult compute_bleu(std::vector<double> correct, std::vector<double> total, int64_t sys_len,
                        int64_t ref_len, BleuSmoothing smoothing,
                        std::optional<double> smooth_value, bool effective_order,
                        int max_ngram_order) {
  if (!smooth_value) smooth_value = default_smooth_value(smoothing);
  BleuResult result;
  result.sys_len = sys_len;
  result.ref_len = ref_len;
  result.ratio = ref_len != 0 ? static_cast<double>(sys_len) / static_cast<double>(ref_len) : 0.0;
  if (sys_len < ref_len) {
    result.brevity_penalty =
        sys_len > 0 ? std::exp(1.0 - static_cast<double>(ref_len) / static_cast<double>(sys_len))
                    : 0.0;
  }
  result.precisions.assign(static_cast<size_t>(max_ngram_order), 0.0);
  // No match at all: the score is 0 before any smoothing (sacrebleu #141).
  if (std::none_of(correct.begin(), correct.end(), [](double c) { return c != 0.0; })) {
    result.counts = std::move(correct);
    result.totals = std::move(total);
    result.score = 0.0;
    return result;
  }
  double smooth_mteval = 1.0;
  int eff_order = max_ngram_order;
  for (int n = 1; n <= max_ngram_order; ++n) {
    size_t i = static_cast<size_t>(n - 1);
    if (smoothing == BleuSmoothing::AddK && n > 1) {
      correct[i] += *smooth_value;
      total[i] += *smooth_value;
    }
    if (total[i] == 0.0) break;
    if (effective_order) eff_order = n;
    if (correct[i] == 0.0) {
      if (smoothing == BleuSmoothing::Exp) {
        smooth_mteval *= 2.0;
        result.precisions[i] = 100.0 / (smooth_mteval * total[i]);
      } else if (smoothing == BleuSmoothing::Floor) {
        result.precisions[i] = 100.0 * *smooth_value / total[i];
      }
    } else {
      result.precisions[i] = 100.0 * correct[i] / total[i];
    }
  }
  // Python's sum() adds left to right from 0; keep that order for bit-identical scores.
  double log_sum = 0.0;
  for (int n = 0; n < eff_order; ++n) log_sum += floored_log(result.precisions[static_cast<size_t>(n)]);
  result.score = result.brevity_penalty * std::exp(log_sum / eff_order);
  result.counts = std::move(correct);
  result.totals = std::move(total);
  return result;
}

Bleu::Bleu(BleuOptions options)
    : options_(std::move(options)),
      tokenizer_(BleuTokenizer::create(options_.tokenize, options_.spm_model_path)) {
  TESSERA_CHECK_INPUT(options_.max_ngram_order >= 1 && options_.max_ngram_order <= 32,
                      "BLEU n-gram order must be in 1..32, got {}", options_.max_ngram_order);
}

std::string Bleu::preprocess(std::string_view segment) const {
  if (options_.lowercase) {
    std::string lowered = python_lower(segment);
    return tokenizer_(rstrip_whitespace(lowered));
  }
  return tokenizer_(rstrip_whitespace(segment));
}

void Bleu::prepare_references(const References& references) {
  const size_t segments = references.front().size();
  tokenized_references_.assign(segments, std::vector<std::string>(references.size()));
  const int64_t count = static_cast<int64_t>(segments);
#pragma omp parallel for schedule(dynamic, 64)
  for (int64_t i = 0; i < count; ++i) {
    for (size_t stream = 0; stream < references.size(); ++stream) {
      tokenized_references_[static_cast<size_t>(i)][stream] =
          preprocess(references[stream][static_cast<size_t>(i)]);
    }
  }
}

namespace {

// Per-thread scratch space, reused across segments so counting allocates nothing in the
// steady state.
struct BleuWorkspace {
  DenseStringIds words;
  NgramIndex ngrams;
  std::vector<std::string_view> fields;
  std::vector<uint32_t> token_ids;
  std::vector<std::vector<std::vector<uint32_t>>> reference_ngrams;  // [ref][order][pos]
  std::vector<std::vector<uint32_t>> hypothesis_ngrams;              // [order][pos]
  SparseCounts reference_max;
  SparseCounts scratch;
};

size_t index_segment(BleuWorkspace& workspace, std::string_view tokenized,
                     std::vector<std::vector<uint32_t>>& ngrams_by_order) {
  split_whitespace(tokenized, workspace.fields);
  workspace.token_ids.clear();
  for (std::string_view word : workspace.fields) workspace.token_ids.push_back(workspace.words.intern(word));
  workspace.ngrams.index(workspace.token_ids, ngrams_by_order);
  return workspace.fields.size();
}

}  // namespace

void Bleu::segment_statistics(size_t segment, std::string_view hypothesis, double* out) const {
  thread_local BleuWorkspace workspace;
  const int orders = max_order();
  const std::string tokenized_hypothesis = preprocess(hypothesis);
  const auto& references = tokenized_references_[segment];

  workspace.words.reset();
  workspace.ngrams.reset(orders);
  if (workspace.reference_ngrams.size() < references.size()) {
    workspace.reference_ngrams.resize(references.size());
  }
  std::vector<int64_t> reference_lengths(references.size());
  for (size_t r = 0; r < references.size(); ++r) {
    reference_lengths[r] =
        static_cast<int64_t>(index_segment(workspace, references[r], workspace.reference_ngrams[r]));
  }
  const int64_t hyp_len =
      static_cast<int64_t>(index_segment(workspace, tokenized_hypothesis, workspace.hypothesis_ngrams));

  // Closest reference length; on a tie the shorter reference wins.
  int64_t closest_diff = -1, closest_len = -1;
  for (int64_t length : reference_lengths) {
    int64_t diff = std::llabs(hyp_len - length);
    if (closest_diff == -1 || diff < closest_diff) {
      closest_diff = diff;
      closest_len = length;
    } else if (diff == closest_diff && length < closest_len) {
      closest_len = length;
    }
  }

  out[0] = static_cast<double>(hyp_len);
  out[1] = static_cast<double>(closest_len);
  for (int order = 1; order <= orders; ++order) {
    const size_t o = static_cast<size_t>(order - 1);
    uint32_t distinct = workspace.ngrams.distinct(order);
    workspace.reference_max.resize(distinct);
    workspace.scratch.resize(distinct);
    // Each n-gram may match as often as it occurs in the reference that has it most often.
    for (size_t r = 0; r < references.size(); ++r) {
      for (uint32_t id : workspace.reference_ngrams[r][o]) workspace.scratch.add(id);
      for (uint32_t id : workspace.scratch.touched()) {
        workspace.reference_max.set(id, std::max(workspace.reference_max.get(id), workspace.scratch.get(id)));
      }
      workspace.scratch.clear();
    }
    const auto& hypothesis_ids = workspace.hypothesis_ngrams[o];
    for (uint32_t id : hypothesis_ids) workspace.scratch.add(id);
    double correct = 0.0;
    for (uint32_t id : workspace.scratch.touched()) {
      correct += std::min(workspace.scratch.get(id), workspace.reference_max.get(id));
    }
    workspace.scratch.clear();
    workspace.reference_max.clear();
    out[2 + o] = correct;
    out[2 + static_cast<size_t>(orders) + o] = static_cast<double>(hypothesis_ids.size());
  }
}

MetricScore Bleu::score_from_statistics(const double* statistics) const {
  const size_t orders = static_cast<size_t>(max_order());
  std::vector<double> correct(statistics + 2, statistics + 2 + orders);
  std::vector<double> total(statistics + 2 + orders, statistics + 2 + 2 * orders);
  BleuResult bleu = compute_bleu(std::move(correct), std::move(total),
                                 static_cast<int64_t>(statistics[0]),
                                 static_cast<int64_t>(statistics[1]), options_.smoothing,
                                 options_.smooth_value, options_.effective_order, max_order());
  MetricScore score;
  score.name = name();
  score.score = bleu.score;
  std::string precisions;
  for (size_t i = 0; i < bleu.precisions.size(); ++i) {
    if (i > 0) precisions += "/";
    precisions += format_fixed(bleu.precisions[i], 1);
  }
  score.verbose = precisions + " (BP = " + format_fixed(bleu.brevity_penalty, 3) +
                  " ratio = " + format_fixed(bleu.ratio, 3) +
                  " hyp_len = " + std::to_string(bleu.sys_len) +
                  " ref_len = " + std::to_string(bleu.ref_len) + ")";
  score.details = {{"counts", bleu.counts},         {"totals", bleu.totals},
                   {"precisions", bleu.precisions}, {"bp", bleu.brevity_penalty},
                   {"ratio", bleu.ratio},           {"sys_len", bleu.sys_len},
                   {"ref_len", bleu.ref_len}};
  return score;
}

void Bleu::add_signature_fields(Signature& signature) const {
  signature.set("case", "c", options_.lowercase ? "lc" : "mixed");
  signature.set("eff", "e", options_.effective_order ? "yes" : "no");
  signature.set("tok", "tok", tokenizer_.signature());
  std::string smooth = bleu_smoothing_name(options_.smoothing);
  if (auto fallback = default_smooth_value(options_.smoothing)) {
    // Appended piecewise: GCC 12 reports a false -Wrestrict for "[" + std::string&&.
    smooth.push_back('[');
    smooth.append(format_fixed(options_.smooth_value.value_or(*fallback), 2));
    smooth.push_back(']');
  }
  signature.set("smooth", "s", smooth);
}

}  // namespace tessera::mt
