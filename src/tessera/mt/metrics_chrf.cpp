#include "tessera/mt/metrics_chrf.h"

#include <algorithm>

#include "tessera/core/error.h"
#include "tessera/mt/metrics_ngrams.h"
#include "tessera/mt/metrics_unicode.h"

namespace tessera::mt {

namespace {

// Python's string.punctuation, the set chrF++ splits off word edges.
bool is_ascii_punctuation(char c) {
  return std::string_view("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~").find(c) != std::string_view::npos;
}

bool is_single_code_point(std::string_view word) {
  return !word.empty() && utf8_sequence_length(static_cast<unsigned char>(word[0])) == word.size();
}

}  // namespace

std::vector<std::string_view> chrf_words(std::string_view segment) {
  std::vector<std::string_view> words;
  for (std::string_view word : split_whitespace(segment)) {
    if (is_single_code_point(word)) {
      words.push_back(word);
    } else if (is_ascii_punctuation(word.back())) {
      words.push_back(word.substr(0, word.size() - 1));
      words.push_back(word.substr(word.size() - 1));
    } else if (is_ascii_punctuation(word.front())) {
      words.push_back(word.substr(0, 1));
      words.push_back(word.substr(1));
    } else {
      words.push_back(word);
    }
  }
  return words;
}

Chrf::Chrf(ChrfOptions options) : options_(options) {
  TESSERA_CHECK_INPUT(options_.char_order >= 0 && options_.char_order <= 64,
                      "chrF character order must be in 0..64, got {}", options_.char_order);
  TESSERA_CHECK_INPUT(options_.word_order >= 0 && options_.word_order <= 64,
                      "chrF word order must be in 0..64, got {}", options_.word_order);
  TESSERA_CHECK_INPUT(orders() > 0, "chrF needs a character or word n-gram order above 0");
  TESSERA_CHECK_INPUT(options_.beta >= 0, "chrF beta must not be negative, got {}", options_.beta);
}

std::string Chrf::name() const {
  return "chrF" + std::to_string(options_.beta) + std::string(static_cast<size_t>(options_.word_order), '+');
}

std::string Chrf::preprocess(std::string_view segment) const {
  return options_.lowercase ? python_lower(segment) : std::string(segment);
}

void Chrf::prepare_references(const References& references) {
  const size_t segments = references.front().size();
  references_.assign(segments, std::vector<std::string>(references.size()));
  const int64_t count = static_cast<int64_t>(segments);
#pragma omp parallel for schedule(dynamic, 256)
  for (int64_t i = 0; i < count; ++i) {
    for (size_t stream = 0; stream < references.size(); ++stream) {
      references_[static_cast<size_t>(i)][stream] = preprocess(references[stream][static_cast<size_t>(i)]);
    }
  }
}

namespace {

// The n-gram ids of one segment side (hypothesis or one reference), by order.
struct IndexedSide {
  std::vector<std::vector<uint32_t>> characters;
  std::vector<std::vector<uint32_t>> words;
};

struct ChrfWorkspace {
  DenseKeyIds code_points;
  DenseStringIds word_ids;
  NgramIndex character_ngrams;
  NgramIndex word_ngrams;
  std::vector<uint32_t> token_ids;
  std::vector<IndexedSide> references;
  IndexedSide hypothesis;
  std::vector<SparseCounts> hypothesis_counts;  // per order, characters then words
  SparseCounts reference_counts;
  std::vector<double> candidate;
};

void index_side(ChrfWorkspace& workspace, std::string_view segment, const ChrfOptions& options,
                IndexedSide& side) {
  workspace.token_ids.clear();
  for (size_t pos = 0; pos < segment.size();) {
    char32_t c = next_code_point(segment, pos);
    if (!options.whitespace && is_python_whitespace(c)) continue;
    workspace.token_ids.push_back(workspace.code_points.intern(c));
  }
  workspace.character_ngrams.index(workspace.token_ids, side.characters);
  if (options.word_order > 0) {
    workspace.token_ids.clear();
    for (std::string_view word : chrf_words(segment)) {
      workspace.token_ids.push_back(workspace.word_ids.intern(word));
    }
    workspace.word_ngrams.index(workspace.token_ids, side.words);
  }
}

}  // namespace

void Chrf::segment_statistics(size_t segment, std::string_view hypothesis, double* out) const {
  thread_local ChrfWorkspace workspace;
  const std::string hyp = preprocess(hypothesis);
  const auto& references = references_[segment];
  const int char_order = options_.char_order;
  const int total_orders = orders();

  workspace.code_points.reset();
  workspace.word_ids.reset();
  workspace.character_ngrams.reset(char_order);
  workspace.word_ngrams.reset(options_.word_order);
  if (workspace.references.size() < references.size()) workspace.references.resize(references.size());
  for (size_t r = 0; r < references.size(); ++r) {
    index_side(workspace, references[r], options_, workspace.references[r]);
  }
  index_side(workspace, hyp, options_, workspace.hypothesis);

  // Hypothesis counts per order, shared by every reference.
  if (workspace.hypothesis_counts.size() < static_cast<size_t>(total_orders)) {
    workspace.hypothesis_counts.resize(static_cast<size_t>(total_orders));
  }
  auto ids_of = [&](const IndexedSide& side, int order_index) -> const std::vector<uint32_t>& {
    return order_index < char_order ? side.characters[static_cast<size_t>(order_index)]
                                    : side.words[static_cast<size_t>(order_index - char_order)];
  };
  auto distinct_of = [&](int order_index) {
    return order_index < char_order ? workspace.character_ngrams.distinct(order_index + 1)
                                    : workspace.word_ngrams.distinct(order_index - char_order + 1);
  };
  for (int k = 0; k < total_orders; ++k) {
    SparseCounts& counts = workspace.hypothesis_counts[static_cast<size_t>(k)];
    counts.resize(distinct_of(k));
    for (uint32_t id : ids_of(workspace.hypothesis, k)) counts.add(id);
  }

  const size_t width = num_statistics();
  workspace.candidate.assign(width, 0.0);
  double best_f = -1.0;
  for (size_t r = 0; r < references.size(); ++r) {
    for (int k = 0; k < total_orders; ++k) {
      const auto& reference_ids = ids_of(workspace.references[r], k);
      const SparseCounts& hypothesis_counts = workspace.hypothesis_counts[static_cast<size_t>(k)];
      workspace.reference_counts.resize(distinct_of(k));
      for (uint32_t id : reference_ids) workspace.reference_counts.add(id);
      double matches = 0.0;
      for (uint32_t id : hypothesis_counts.touched()) {
        matches += std::min(hypothesis_counts.get(id), workspace.reference_counts.get(id));
      }
      workspace.reference_counts.clear();
      const size_t hyp_total = ids_of(workspace.hypothesis, k).size();
      // sacrebleu does not count hypothesis n-grams of an order the reference lacks.
      workspace.candidate[3 * k] = reference_ids.empty() ? 0.0 : static_cast<double>(hyp_total);
      workspace.candidate[3 * k + 1] = static_cast<double>(reference_ids.size());
      workspace.candidate[3 * k + 2] = matches;
    }
    double f = f_score(workspace.candidate.data());
    if (f > best_f) {  // the first reference wins ties
      best_f = f;
      std::copy(workspace.candidate.begin(), workspace.candidate.end(), out);
    }
  }
  for (auto& counts : workspace.hypothesis_counts) counts.clear();
}

double Chrf::f_score(const double* statistics) const {
  const double eps = 1e-16;
  const double factor = static_cast<double>(options_.beta) * options_.beta;
  double score = 0.0;
  double average_precision = 0.0, average_recall = 0.0;
  int effective_order = 0;
  const int total_orders = orders();
  for (int i = 0; i < total_orders; ++i) {
    double n_hyp = statistics[3 * i], n_ref = statistics[3 * i + 1], n_match = statistics[3 * i + 2];
    double precision = n_hyp > 0 ? n_match / n_hyp : eps;
    double recall = n_ref > 0 ? n_match / n_ref : eps;
    double denominator = factor * precision + recall;
    score += denominator > 0 ? (1 + factor) * precision * recall / denominator : eps;
    if (n_hyp > 0 && n_ref > 0) {
      average_precision += precision;
      average_recall += recall;
      ++effective_order;
    }
  }
  if (options_.eps_smoothing) return 100 * score / total_orders;
  if (effective_order == 0) {
    average_precision = average_recall = 0.0;
  } else {
    average_precision /= effective_order;
    average_recall /= effective_order;
  }
  if (average_precision + average_recall != 0.0) {
    score = (1 + factor) * average_precision * average_recall;
    score /= (factor * average_precision) + average_recall;
    return 100 * score;
  }
  return 0.0;
}

MetricScore Chrf::score_from_statistics(const double* statistics) const {
  MetricScore score;
  score.name = name();
  score.score = f_score(statistics);
  score.details = {{"char_order", options_.char_order},
                   {"word_order", options_.word_order},
                   {"beta", options_.beta},
                   {"statistics", std::vector<double>(statistics, statistics + num_statistics())}};
  return score;
}

void Chrf::add_signature_fields(Signature& signature) const {
  signature.set("case", "c", options_.lowercase ? "lc" : "mixed");
  signature.set("eff", "e", options_.eps_smoothing ? "no" : "yes");
  signature.set("nc", "nc", std::to_string(options_.char_order));
  signature.set("nw", "nw", std::to_string(options_.word_order));
  signature.set("space", "s", options_.whitespace ? "yes" : "no");
}

}  // namespace tessera::mt
