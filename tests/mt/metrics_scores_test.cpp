// Scores checked against sacrebleu 2.6.0 (Python 3.11, regex 2022.10.31, numpy 1.24.2): the
// literals below are the full-precision floats sacrebleu printed for the same inputs, and
// they are compared for exact equality because Tessera repeats sacrebleu's arithmetic.
#include <gtest/gtest.h>

#include "tessera/core/error.h"
#include "tessera/mt/metrics_bleu.h"
#include "tessera/mt/metrics_chrf.h"
#include "tessera/mt/metrics_ter.h"

namespace tessera::mt {
namespace {

// sacrebleu's README example: three segments, two references.
const std::vector<std::string> kSystem = {"The dog bit the man.", "It wasn't surprising.",
                                          "The man had just bitten him."};
const References kReferences = {
    {"The dog bit the man.", "It was not unexpected.", "The man bit him first."},
    {"The dog had bit the man.", "No one was surprised.", "The man had bitten the dog."}};

MetricScore corpus(Metric& metric, const std::vector<std::string>& hypotheses,
                   const References& references) {
  metric.set_references(references);
  return corpus_score(metric, collect_statistics(metric, hypotheses));
}

double bleu_with_tokenizer(const std::string& tokenizer) {
  BleuOptions options;
  options.tokenize = tokenizer;
  Bleu bleu(options);
  return corpus(bleu, kSystem, kReferences).score;
}

TEST(BleuTest, ReadmeExampleWithEachTokenizer) {
  EXPECT_EQ(bleu_with_tokenizer("13a"), 48.530827009929865);
  EXPECT_EQ(bleu_with_tokenizer("intl"), 43.91623493336995);
  EXPECT_EQ(bleu_with_tokenizer("none"), 49.19195660047277);
  EXPECT_EQ(bleu_with_tokenizer("char"), 72.61064153440596);
  EXPECT_EQ(bleu_with_tokenizer("zh"), 48.530827009929865);
}

TEST(BleuTest, ReadmeExampleTextLineAndSignature) {
  Bleu bleu(BleuOptions{});
  MetricScore score = corpus(bleu, kSystem, kReferences);
  EXPECT_EQ(score.format(2, false, bleu.signature().format()),
            "BLEU|nrefs:2|case:mixed|eff:no|tok:13a|smooth:exp|version:2.6.0+tessera = 48.53 "
            "82.4/50.0/45.5/37.5 (BP = 0.943 ratio = 0.944 hyp_len = 17 ref_len = 18)");
  EXPECT_EQ(bleu.signature().format(true), "#:2|c:mixed|e:no|tok:13a|s:exp|v:2.6.0+tessera");
}

// sacrebleu's test_sentence_bleu.py cases (effective order, one reference).
double sentence_bleu(const std::string& smoothing, std::optional<double> value,
                     const std::string& tokenizer, bool lowercase) {
  BleuOptions options;
  options.smoothing = parse_bleu_smoothing(smoothing);
  options.smooth_value = value;
  options.tokenize = tokenizer;
  options.lowercase = lowercase;
  options.effective_order = true;
  Bleu bleu(options);
  return corpus(bleu, {"Producția de zahăr primă va fi exprimată în ceea ce privește zahărul alb;"},
                {{"producţia de zahăr brut se exprimă în zahăr alb;"}})
      .score;
}

TEST(BleuTest, SentenceLevelSmoothingVectors) {
  EXPECT_EQ(sentence_bleu("exp", std::nullopt, "13a", false), 8.493098745313148);
  EXPECT_EQ(sentence_bleu("floor", std::nullopt, "13a", false), 4.516881220954753);
  EXPECT_EQ(sentence_bleu("add-k", std::nullopt, "13a", false), 14.882560178972215);
  EXPECT_EQ(sentence_bleu("add-k", 2.0, "13a", false), 21.389460275371086);
  EXPECT_EQ(sentence_bleu("none", std::nullopt, "13a", false), 0.0);
  EXPECT_EQ(sentence_bleu("exp", std::nullopt, "char", true), 42.02678206410298);
}

TEST(BleuTest, ScoreFromStatistics) {
  BleuResult result = compute_bleu({9, 7, 5, 3}, {10, 8, 6, 4}, 11, 11, BleuSmoothing::Exp,
                                   std::nullopt, false, 4);
  EXPECT_EQ(result.score, 83.75922397086269);
  EXPECT_NEAR(result.score / 100, 0.8375922397, 1e-10);
}

TEST(BleuTest, NoMatchesGiveZeroBeforeSmoothing) {
  BleuResult result = compute_bleu({0, 0, 0, 0}, {4, 3, 2, 1}, 4, 2, BleuSmoothing::AddK,
                                   std::nullopt, true, 4);
  EXPECT_EQ(result.score, 0.0);
  EXPECT_EQ(result.totals, (std::vector<double>{4, 3, 2, 1}));  // add-k never applied
}

TEST(BleuTest, ClosestReferenceLengthPrefersShorterOnTies) {
  Bleu bleu(BleuOptions{});
  // Hypothesis of 3 tokens; references of 2 and 4 tokens are equally close.
  bleu.set_references({{"a b"}, {"a b c d"}});
  double statistics[10];
  bleu.segment_statistics(0, "a b c", statistics);
  EXPECT_EQ(statistics[0], 3);
  EXPECT_EQ(statistics[1], 2);
}

TEST(BleuTest, SmoothingSignatureCarriesTheValue) {
  BleuOptions options;
  options.smoothing = BleuSmoothing::Floor;
  Bleu bleu(options);
  bleu.set_references({{"x"}});
  EXPECT_NE(bleu.signature().format().find("smooth:floor[0.10]"), std::string::npos);
}

TEST(BleuTest, BadOptionsAreBadInput) {
  BleuOptions options;
  options.tokenize = "moses";
  EXPECT_THROW(Bleu{options}, Error);
  options.tokenize = "flores200";  // needs a model file
  EXPECT_THROW(Bleu{options}, Error);
  EXPECT_THROW(parse_bleu_smoothing("laplace"), Error);
}

double chrf(int word_order, const std::vector<std::string>& hypotheses, const References& references) {
  ChrfOptions options;
  options.word_order = word_order;
  Chrf metric(options);
  return corpus(metric, hypotheses, references).score;
}

TEST(ChrfTest, ReadmeExample) {
  EXPECT_EQ(chrf(0, kSystem, kReferences), 59.72751782684763);
  EXPECT_EQ(chrf(2, kSystem, kReferences), 59.15310444399262);
  EXPECT_EQ(Chrf(ChrfOptions{}).name(), "chrF2");
  EXPECT_EQ(Chrf(ChrfOptions{6, 2}).name(), "chrF2++");
}

TEST(ChrfTest, EdgeCases) {
  EXPECT_EQ(chrf(0, {""}, {{"the cat sat"}}), 0.0);
  EXPECT_EQ(chrf(2, {"xyz"}, {{"the cat sat"}}), 0.0);
  EXPECT_EQ(chrf(0, {"... !!"}, {{"?! ..."}}), 32.666666666666664);
  EXPECT_EQ(chrf(2, {"... !!"}, {{"?! ..."}}), 38.80952380952381);
  EXPECT_EQ(chrf(0, {"Σίσυφος ΣΟΦΙΑΣ naïve"}, {{"σίσυφος σοφιας naive"}}), 27.285008020302136);
  EXPECT_EQ(chrf(2, {"Σίσυφος ΣΟΦΙΑΣ naïve"}, {{"σίσυφος σοφιας naive"}}), 20.463756015226604);
  EXPECT_EQ(chrf(2, {""}, {{""}}), 0.0);
}

TEST(ChrfTest, PunctuationSplitOffWordEdges) {
  auto words = chrf_words("(hi) a, 'b x");
  std::vector<std::string_view> expected = {"(hi", ")", "a", ",", "'", "b", "x"};
  EXPECT_EQ(words, expected);
}

double ter(const std::vector<std::string>& hypotheses, const References& references,
           TercomOptions options = {}) {
  Ter metric(options);
  return corpus(metric, hypotheses, references).score;
}

TEST(TerTest, ReadmeExampleAndEdgeCases) {
  EXPECT_EQ(ter(kSystem, kReferences), 40.0);
  EXPECT_EQ(ter({""}, {{"the cat sat"}}), 100.0);
  EXPECT_EQ(ter({"xyz"}, {{"the cat sat"}}), 100.0);
  EXPECT_EQ(ter({"... !!"}, {{"?! ..."}}), 100.0);
  EXPECT_EQ(ter({"Σίσυφος ΣΟΦΙΑΣ naïve"}, {{"σίσυφος σοφιας naive"}}), 33.33333333333333);
  EXPECT_EQ(ter({""}, {{""}}), 0.0);
  EXPECT_EQ(ter({"a"}, {{""}}), 100.0);
}

TEST(TerTest, BlockShiftCountsAsOneEdit) {
  // Moving "c d" to the front is one shift; no other edit is needed.
  TerEdits edits = translation_edit_rate({2, 3, 0, 1}, {0, 1, 2, 3});
  EXPECT_EQ(edits.edits, 1);
  EXPECT_EQ(edits.reference_length, 4);
  EXPECT_EQ(translation_edit_rate({}, {0, 1, 2}).edits, 3);
  EXPECT_EQ(translation_edit_rate({0, 1}, {}).edits, 2);
}

TEST(MetricTest, MismatchedLengthsAreBadInput) {
  Bleu bleu(BleuOptions{});
  EXPECT_THROW(bleu.set_references({{"a", "b"}, {"a"}}), Error);
  bleu.set_references({{"a", "b"}});
  EXPECT_THROW(collect_statistics(bleu, {"a"}), Error);
}

}  // namespace
}  // namespace tessera::mt
