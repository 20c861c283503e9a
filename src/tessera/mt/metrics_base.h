#pragma once
// What BLEU, chrF and TER share, following sacrebleu's design: each segment is reduced to a
// fixed-width vector of sufficient statistics, a corpus score is computed from the sum of
// those vectors, and the same vectors are resampled for bootstrap confidence intervals and
// paired significance tests. Signatures and the text/JSON score lines mirror sacrebleu's.
#include <nlohmann/json.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tessera::mt {

// Tessera implements the semantics of this sacrebleu release...
inline constexpr std::string_view kSacrebleuVersion = "2.6.0";
// ...and signs its scores with this `version:` value, so a signature says both which
// semantics were followed and that Tessera, not sacrebleu, computed the number.
inline constexpr std::string_view kSignatureVersion = "2.6.0+tessera";

// A sacrebleu signature: ordered key:value pairs joined by '|', version always last.
class Signature {
 public:
  // Adds a field, or replaces the value of an existing one in place.
  void set(const std::string& key, const std::string& abbreviation, const std::string& value);
  // "nrefs:1|case:mixed|...|version:2.6.0+tessera"; `short_form` uses the abbreviations.
  std::string format(bool short_form = false) const;
  // The fields as (key, value) pairs in printed order.
  std::vector<std::pair<std::string, std::string>> fields() const;

 private:
  struct Field {
    std::string key, abbreviation, value;
  };
  std::vector<Field> fields_;
};

struct MetricScore {
  std::string name;  // "BLEU", "chrF2", "chrF2++", "TER"
  double score = 0.0;
  std::string verbose;     // BLEU's "82.4/50.0/45.5/37.5 (BP = ... ref_len = 18)"; else empty
  nlohmann::json details;  // metric-specific numbers (counts, totals, edits...)
  // Set by bootstrap resampling: mean of the resampled scores and half the width of the
  // 95% interval (sacrebleu's "μ = mean ± ci").
  std::optional<double> bootstrap_mean;
  std::optional<double> bootstrap_ci;

  // sacrebleu's Score.format(): "BLEU|<signature> = 48.5 82.4/...", or the bare score.
  std::string format(int width, bool score_only, const std::string& signature) const;
  // Full-precision JSON: name, score, signature and its fields, verbose_score, details.
  nlohmann::json to_json(const Signature& signature) const;
};

// Python's f"{value:.{width}f}" (correctly rounded, ties to even on the exact binary value).
std::string format_fixed(double value, int width);

// references[stream][segment]: every stream holds one reference per segment.
using References = std::vector<std::vector<std::string>>;

class Metric {
 public:
  virtual ~Metric() = default;

  // The score's name for the current options ("chrF2++" for word order 2).
  virtual std::string name() const = 0;
  // Width of a segment's statistics vector.
  virtual size_t num_statistics() const = 0;

  // Preprocesses and caches the references; BadInput when streams differ in length or none
  // is given. Tokenization runs in parallel.
  void set_references(const References& references);
  size_t num_segments() const { return num_segments_; }
  size_t num_references() const { return num_references_; }

  // Statistics of one hypothesis against the cached references of `segment`, written to
  // out[0 .. num_statistics()). Thread-safe: called concurrently for different segments.
  virtual void segment_statistics(size_t segment, std::string_view hypothesis,
                                  double* out) const = 0;
  // The score of already summed statistics.
  virtual MetricScore score_from_statistics(const double* statistics) const = 0;

  Signature signature() const;
  // Records bootstrap parameters so that the signature carries bs:N|seed:S as sacrebleu's.
  void set_bootstrap_signature(int resamples, const std::string& seed);

 protected:
  // Called once per reference stream set; `references` is validated.
  virtual void prepare_references(const References& references) = 0;
  virtual void add_signature_fields(Signature& signature) const = 0;

 private:
  size_t num_segments_ = 0;
  size_t num_references_ = 0;
  std::optional<int> bootstrap_resamples_;
  std::string bootstrap_seed_;
};

// Row-major statistics of every segment of one system.
struct SegmentStatistics {
  size_t num_segments = 0;
  size_t width = 0;
  std::vector<double> values;
  const double* row(size_t segment) const { return values.data() + segment * width; }
};

// Statistics of every hypothesis (OpenMP over segments); BadInput when the number of
// hypotheses differs from the number of reference segments.
SegmentStatistics collect_statistics(const Metric& metric,
                                     const std::vector<std::string>& hypotheses);
// Column sums in segment order (sacrebleu's sum_of_lists), so float statistics such as TER's
// average reference length add up exactly as in Python.
std::vector<double> sum_statistics(const SegmentStatistics& statistics);
MetricScore corpus_score(const Metric& metric, const SegmentStatistics& statistics);
// One score per segment, from that segment's statistics alone.
std::vector<MetricScore> segment_scores(const Metric& metric,
                                        const SegmentStatistics& statistics);

// sacrebleu's print_single_results for text output: lines containing '=' are right-aligned
// on their first '='.
std::vector<std::string> align_score_lines(const std::vector<std::string>& lines);

}  // namespace tessera::mt
