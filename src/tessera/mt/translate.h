#pragma once
// Text in, text out: NLLB-style translation of lines with an encoder-decoder (models/seq2seq.h),
// the NLLB tokenizer conventions (mt/nllb_tokenizer.h) and the decoders of infer/beam.h.
#include <string>
#include <vector>

#include "tessera/infer/beam.h"
#include "tessera/models/seq2seq.h"
#include "tessera/mt/nllb_tokenizer.h"

namespace tessera::mt {

struct TranslateOptions {
  std::string src_lang, tgt_lang;     // NLLB codes, e.g. eng_Latn, fra_Latn
  bool legacy_source_layout = false;  // tokens </s> [src_lang] instead of [src_lang] tokens </s>
  int64_t max_source_tokens = 0;      // > 0: longer sources are cut (keeping the closing tokens)
  infer::DecodeOptions decode;        // forced_prefix is set to [tgt_lang] here
};

struct TranslationCandidate {
  std::string text;
  double score = 0;
  double log_prob = 0;
  std::vector<int32_t> tokens;  // generated ids (language token first, EOS excluded)
};

// For each line, the n-best translations, best first. An empty line translates to "" without
// running the model.
std::vector<std::vector<TranslationCandidate>> translate_lines(
    models::Seq2SeqLM& model, const NllbTokenizer& tokenizer, const std::vector<std::string>& lines,
    const TranslateOptions& options, infer::DecodeStats* stats = nullptr);

// Loads the model and its tokenizer from one folder (config.json, weights,
// sentencepiece.bpe.model).
struct TranslationModel {
  std::unique_ptr<models::Seq2SeqLM> model;
  NllbTokenizer tokenizer;
};
TranslationModel load_translation_model(const std::string& dir);

}  // namespace tessera::mt
