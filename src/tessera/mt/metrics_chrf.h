#pragma once
// chrF (Popović 2015) and chrF++ (Popović 2017) as sacrebleu computes them: character
// n-grams of the whitespace-free segment (orders 1..char_order), optionally word n-grams
// after splitting punctuation off word edges (orders 1..word_order), F-beta of the averaged
// precision and recall over the orders that have n-grams on both sides ("effective order"),
// and, with several references, the statistics of the reference with the best segment F.
// Statistics per segment: [hyp, ref, match] for each order, characters first.
#include <string>
#include <vector>

#include "tessera/mt/metrics_base.h"

namespace tessera::mt {

struct ChrfOptions {
  int char_order = 6;
  int word_order = 0;  // 2 gives chrF++
  int beta = 2;
  bool lowercase = false;
  bool whitespace = false;     // keep whitespace inside character n-grams
  bool eps_smoothing = false;  // chrF++.py / Moses / NLTK epsilon smoothing instead
};

// sacrebleu's _remove_punctuation: whitespace split, then one ASCII punctuation character
// is split off the end of a word, or else off its start ("(hi)" -> "(hi", ")").
std::vector<std::string_view> chrf_words(std::string_view segment);

class Chrf : public Metric {
 public:
  explicit Chrf(ChrfOptions options);

  std::string name() const override;
  size_t num_statistics() const override { return 3 * static_cast<size_t>(orders()); }
  void segment_statistics(size_t segment, std::string_view hypothesis,
                          double* out) const override;
  MetricScore score_from_statistics(const double* statistics) const override;

  // sacrebleu's CHRF._compute_f_score.
  double f_score(const double* statistics) const;
  const ChrfOptions& options() const { return options_; }

 protected:
  void prepare_references(const References& references) override;
  void add_signature_fields(Signature& signature) const override;

 private:
  int orders() const { return options_.char_order + options_.word_order; }
  std::string preprocess(std::string_view segment) const;

  ChrfOptions options_;
  std::vector<std::vector<std::string>> references_;  // [segment][reference], preprocessed
};

}  // namespace tessera::mt
