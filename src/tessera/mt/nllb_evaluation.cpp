#include "tessera/mt/nllb_evaluation.h"

#include <filesystem>

#include <nlohmann/json.hpp>

#include "tessera/core/error.h"
#include "tessera/models/causal_lm.h"
#include "tessera/mt/corpus_builder.h"
#include "tessera/mt/metrics_bleu.h"
#include "tessera/mt/metrics_chrf.h"
#include "tessera/mt/toxicity.h"

namespace tessera::mt {

namespace fs = std::filesystem;

int64_t training_pairs(const std::string& corpus_dir, const std::string& code) {
  fs::path counts = fs::path(corpus_dir) / "counts.json";
  if (!fs::exists(counts)) return 0;
  nlohmann::json j = models::read_json_file(counts.string());
  if (!j.contains("languages") || !j["languages"].contains(code)) return 0;
  return j["languages"][code].value("train", int64_t{0});
}

namespace {
double corpus_metric(const Metric& metric, const std::vector<std::string>& hyps) {
  return corpus_score(metric, collect_statistics(metric, hyps)).score;
}
}  // namespace

std::vector<DirectionScore> evaluate_directions(models::Seq2SeqLM& model,
                                                const NllbTokenizer& tokenizer,
                                                const std::string& model_dir,
                                                const EvaluationOptions& o) {
  std::vector<std::string> codes = o.languages;
  if (codes.empty())
    for (const std::string& c : tokenizer.language_codes())
      if (c != "eng_Latn") codes.push_back(c);
  const std::string spm = o.spm_model.empty()
                              ? (fs::path(model_dir) / "sentencepiece.bpe.model").string()
                              : o.spm_model;
  std::vector<DirectionScore> scores;
  for (const std::string& code : codes) {
    fs::path file = fs::path(o.corpus_dir) / o.split / ("eng_Latn-" + code + ".tsv");
    TESSERA_CHECK_INPUT(fs::exists(file), "{}: no {} pairs for {}", o.corpus_dir, o.split, code);
    std::vector<ParallelPair> pairs = read_pair_file(file.string());
    if (static_cast<int64_t>(pairs.size()) > o.max_sentences) pairs.resize(o.max_sentences);
    if (pairs.empty()) continue;
    for (bool from_english : {true, false}) {
      std::vector<std::string> sources, references;
      for (const ParallelPair& p : pairs) {
        sources.push_back(from_english ? p.english : p.other);
        references.push_back(from_english ? p.other : p.english);
      }
      TranslateOptions t;
      t.src_lang = from_english ? "eng_Latn" : code;
      t.tgt_lang = from_english ? code : "eng_Latn";
      t.decode = o.decode;
      t.decode.num_return = 1;
      t.max_source_tokens = std::min<int64_t>(model.max_positions() - 2, 256);
      std::vector<std::string> hyps;
      for (const auto& nbest : translate_lines(model, tokenizer, sources, t))
        hyps.push_back(nbest[0].text);
      DirectionScore s;
      s.src = t.src_lang;
      s.tgt = t.tgt_lang;
      s.sentences = static_cast<int64_t>(hyps.size());
      s.train_pairs = training_pairs(o.corpus_dir, code);
      Chrf chrf(ChrfOptions{.word_order = 2});
      chrf.set_references({references});
      s.chrf_pp = corpus_metric(chrf, hyps);
      Bleu bleu(BleuOptions{.tokenize = "spm", .spm_model_path = spm});
      bleu.set_references({references});
      s.spbleu = corpus_metric(bleu, hyps);
      if (!o.toxicity_list.empty()) {
        std::string path;
        try {
          path = resolve_wordlist_path(o.toxicity_list, t.tgt_lang);
        } catch (const Error&) {
          path.clear();  // no list for this language
        }
        if (!path.empty()) {
          ToxicityOptions topt;
          topt.language = t.tgt_lang;
          ToxicityWordlist list = ToxicityWordlist::load(path, topt);
          s.added_toxicity =
              static_cast<int64_t>(added_toxicity(list, nullptr, sources, hyps).added_toxicity);
        }
      }
      scores.push_back(s);
    }
  }
  return scores;
}

}  // namespace tessera::mt
