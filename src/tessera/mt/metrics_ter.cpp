#include "tessera/mt/metrics_ter.h"

#include "tessera/mt/metrics_ngrams.h"
#include "tessera/mt/metrics_unicode.h"

namespace tessera::mt {

Ter::Ter(TercomOptions options) : options_(options) {}

std::string Ter::preprocess(std::string_view segment) const {
  return tokenize_tercom(rstrip_whitespace(segment), options_);
}

void Ter::prepare_references(const References& references) {
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
struct TerWorkspace {
  DenseStringIds words;
  std::vector<std::string_view> fields;
  std::vector<uint32_t> hypothesis;
  std::vector<uint32_t> reference;
};

void to_ids(TerWorkspace& workspace, std::string_view tokenized, std::vector<uint32_t>& ids) {
  split_whitespace(tokenized, workspace.fields);
  ids.clear();
  for (std::string_view word : workspace.fields) ids.push_back(workspace.words.intern(word));
}
}  // namespace

void Ter::segment_statistics(size_t segment, std::string_view hypothesis, double* out) const {
  thread_local TerWorkspace workspace;
  const std::string tokenized = preprocess(hypothesis);
  const auto& references = tokenized_references_[segment];
  workspace.words.reset();
  to_ids(workspace, tokenized, workspace.hypothesis);
  int64_t reference_lengths = 0;
  int64_t best_edits = 10000000000000000;  // int(1e16)
  for (const std::string& reference : references) {
    to_ids(workspace, reference, workspace.reference);
    TerEdits edits = translation_edit_rate(workspace.hypothesis, workspace.reference);
    reference_lengths += edits.reference_length;
    if (edits.edits < best_edits) best_edits = edits.edits;
  }
  out[0] = static_cast<double>(best_edits);
  out[1] = static_cast<double>(reference_lengths) / static_cast<double>(references.size());
}

MetricScore Ter::score_from_statistics(const double* statistics) const {
  const double total_edits = statistics[0], reference_lengths = statistics[1];
  double rate;
  if (reference_lengths > 0) {
    rate = total_edits / reference_lengths;
  } else if (total_edits > 0) {
    rate = 1.0;  // empty reference(s), non-empty hypothesis
  } else {
    rate = 0.0;  // both empty
  }
  MetricScore score;
  score.name = name();
  score.score = 100 * rate;
  score.details = {{"num_edits", static_cast<int64_t>(total_edits)},
                   {"ref_length", reference_lengths}};
  return score;
}

void Ter::add_signature_fields(Signature& signature) const {
  signature.set("case", "c", options_.case_sensitive ? "mixed" : "lc");
  signature.set("tok", "t", "tercom");
  signature.set("norm", "nr", options_.normalized ? "yes" : "no");
  signature.set("punct", "pn", options_.no_punct ? "no" : "yes");
  signature.set("asian", "as", options_.asian_support ? "yes" : "no");
}

}  // namespace tessera::mt
