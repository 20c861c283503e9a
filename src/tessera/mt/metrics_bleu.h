#pragma once
// BLEU (Papineni et al., 2002) with sacrebleu's exact semantics: clipped n-gram matches
// against the per-n-gram maximum over references, the closest reference length (ties to the
// shorter), the smoothing methods of Chen & Cherry (2014), and effective order for sentence
// level. Statistics per segment: [hyp_len, ref_len, correct_1..N, total_1..N].
#include <optional>
#include <string>
#include <vector>

#include "tessera/mt/metrics_base.h"
#include "tessera/mt/metrics_tokenizers.h"

namespace tessera::mt {

enum class BleuSmoothing { None, Floor, AddK, Exp };

// "none", "floor", "add-k", "exp"; BadInput otherwise.
BleuSmoothing parse_bleu_smoothing(const std::string& name);
std::string bleu_smoothing_name(BleuSmoothing smoothing);

struct BleuOptions {
  std::string tokenize = "13a";
  std::string spm_model_path;  // for flores101 / flores200 / spm / spBLEU-1K
  bool lowercase = false;
  BleuSmoothing smoothing = BleuSmoothing::Exp;
  std::optional<double> smooth_value;  // default 0.1 for floor, 1 for add-k
  int max_ngram_order = 4;
  bool effective_order = false;  // sacrebleu turns it on for sentence-level scores
};

struct BleuResult {
  double score = 0.0;
  std::vector<double> counts;  // correct n-grams per order (add-k: after smoothing)
  std::vector<double> totals;
  std::vector<double> precisions;
  double brevity_penalty = 1.0;
  int64_t sys_len = 0;
  int64_t ref_len = 0;
  double ratio = 0.0;
};

// sacrebleu's BLEU.compute_bleu on summed statistics, operation for operation.
BleuResult compute_bleu(std::vector<double> correct, std::vector<double> total, int64_t sys_len,
                        int64_t ref_len, BleuSmoothing smoothing,
                        std::optional<double> smooth_value, bool effective_order,
                        int max_ngram_order);

class Bleu : public Metric {
 public:
  explicit Bleu(BleuOptions options);

  std::string name() const override { return "BLEU"; }
  size_t num_statistics() const override { return 2 + 2 * static_cast<size_t>(max_order()); }
  void segment_statistics(size_t segment, std::string_view hypothesis,
                          double* out) const override;
  MetricScore score_from_statistics(const double* statistics) const override;

  const BleuOptions& options() const { return options_; }
  // Lowercasing (optional) and tokenization, as applied to every segment.
  std::string preprocess(std::string_view segment) const;

 protected:
  void prepare_references(const References& references) override;
  void add_signature_fields(Signature& signature) const override;

 private:
  int max_order() const { return options_.max_ngram_order; }

  BleuOptions options_;
  BleuTokenizer tokenizer_;
  // Tokenized references: [segment][reference].
  std::vector<std::vector<std::string>> tokenized_references_;
};

}  // namespace tessera::mt
