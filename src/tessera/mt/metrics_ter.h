#pragma once
// TER (Snover et al., 2006) as sacrebleu computes it: Tercom's greedy block-shift search
// (shift sizes up to 10 words, distances up to 50, at most 1000 candidate shifts per
// segment) over a beam-limited Levenshtein distance, best reference by fewest edits,
// normalized by the average reference length. Statistics per segment:
// [edits of the best reference, average reference length].
#include <cstdint>
#include <string>
#include <vector>

#include "tessera/mt/metrics_base.h"
#include "tessera/mt/metrics_tokenizers.h"

namespace tessera::mt {

struct TerEdits {
  int64_t edits = 0;
  int64_t reference_length = 0;
};

// sacrebleu's lib_ter.translation_edit_rate on word ids (equal ids = equal words).
TerEdits translation_edit_rate(const std::vector<uint32_t>& hypothesis,
                               const std::vector<uint32_t>& reference);

class Ter : public Metric {
 public:
  explicit Ter(TercomOptions options = {});

  std::string name() const override { return "TER"; }
  size_t num_statistics() const override { return 2; }
  void segment_statistics(size_t segment, std::string_view hypothesis,
                          double* out) const override;
  MetricScore score_from_statistics(const double* statistics) const override;

 protected:
  void prepare_references(const References& references) override;
  void add_signature_fields(Signature& signature) const override;

 private:
  std::string preprocess(std::string_view segment) const;

  TercomOptions options_;
  std::vector<std::vector<std::string>> tokenized_references_;  // [segment][reference]
};

}  // namespace tessera::mt
