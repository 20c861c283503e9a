#pragma once
// Per-direction quality of a translation model on a build-corpus split: chrF++ (sacrebleu
// semantics, mt/metrics_chrf.h) and spBLEU (BLEU over SentencePiece pieces; with no FLORES-200
// SPM model here, the model's own sentencepiece.bpe.model tokenizes), with languages grouped as
// high- or low-resource by their training-pair count, plus added-toxicity counts when a
// wordlist is given.
#include <cstdint>
#include <string>
#include <vector>

#include "tessera/infer/beam.h"
#include "tessera/mt/translate.h"

namespace tessera::mt {

struct DirectionScore {
  std::string src, tgt;
  int64_t sentences = 0;
  int64_t train_pairs = 0;  // of the non-English language
  double chrf_pp = 0, spbleu = 0;
  int64_t added_toxicity =
      0;  // hypotheses with toxic terms absent from the source (0 without a wordlist)
};

struct EvaluationOptions {
  std::string corpus_dir, split = "test";
  std::vector<std::string> languages;  // empty: every language of the tokenizer besides English
  int64_t max_sentences = 100;         // per direction (the first ones of the split file)
  infer::DecodeOptions decode;
  std::string spm_model;  // empty: <model_dir>/sentencepiece.bpe.model
  std::string
      toxicity_list;  // optional wordlist file (mt/toxicity.h layout), matched on the target side
};

std::vector<DirectionScore> evaluate_directions(models::Seq2SeqLM& model,
                                                const NllbTokenizer& tokenizer,
                                                const std::string& model_dir,
                                                const EvaluationOptions& options);

// Training pairs per language from <corpus>/counts.json (0 when absent).
int64_t training_pairs(const std::string& corpus_dir, const std::string& code);

}  // namespace tessera::mt
