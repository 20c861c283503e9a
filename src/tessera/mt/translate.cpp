#include "tessera/mt/translate.h"

namespace tessera::mt {

std::vector<std::vector<TranslationCandidate>> translate_lines(
    models::Seq2SeqLM& model, const NllbTokenizer& tokenizer, const std::vector<std::string>& lines,
    const TranslateOptions& options, infer::DecodeStats* stats) {
  TESSERA_CHECK_INPUT(tokenizer.vocab_size() <= model.vocab_size(),
                      "the tokenizer has {} ids but the model only {}: they do not belong together",
                      tokenizer.vocab_size(), model.vocab_size());
  infer::DecodeOptions decode = options.decode;
  decode.forced_prefix = {tokenizer.language_id(options.tgt_lang)};
  tokenizer.language_id(options.src_lang);  // named error before any work
  std::vector<std::vector<int32_t>> sources;
  std::vector<size_t> where;  // line index of each non-empty source
  for (size_t i = 0; i < lines.size(); ++i) {
    if (lines[i].find_first_not_of(" \t\r") == std::string::npos) continue;
    std::vector<int32_t> ids =
        tokenizer.encode_source(lines[i], options.src_lang, options.legacy_source_layout);
    if (options.max_source_tokens > 2 &&
        static_cast<int64_t>(ids.size()) > options.max_source_tokens) {
      std::vector<int32_t> cut(ids.begin(), ids.begin() + options.max_source_tokens - 1);
      cut.push_back(ids.back());
      if (options.legacy_source_layout) cut[cut.size() - 2] = NllbTokenizer::kEos;
      ids = std::move(cut);
    }
    const int64_t limit = model.max_positions();
    TESSERA_CHECK_INPUT(
        static_cast<int64_t>(ids.size()) <= limit,
        "line {}: {} source tokens exceed the model's {} positions (use a length limit)", i + 1,
        ids.size(), limit);
    sources.push_back(std::move(ids));
    where.push_back(i);
  }
  std::vector<std::vector<TranslationCandidate>> out(lines.size());
  for (auto& o : out) o.push_back({});
  if (sources.empty()) return out;
  auto hyps = infer::decode(model, sources, decode, stats);
  for (size_t k = 0; k < hyps.size(); ++k) {
    auto& list = out[where[k]];
    list.clear();
    for (const infer::Hypothesis& h : hyps[k])
      list.push_back({tokenizer.decode(h.tokens), h.score, h.log_prob, h.tokens});
  }
  return out;
}

TranslationModel load_translation_model(const std::string& dir) {
  auto model = models::load_seq2seq_model(dir);
  return {std::move(model), NllbTokenizer::load(dir)};
}

}  // namespace tessera::mt
