#include "tessera/mt/nllb_training_data.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>

#include "tessera/core/error.h"
#include "tessera/mt/corpus_builder.h"

namespace tessera::mt {

namespace fs = std::filesystem;

std::vector<Direction> make_directions(const std::vector<LanguagePairs>& data, double temperature) {
  TESSERA_CHECK_INPUT(temperature > 0, "sampling temperature must be positive, got {}",
                      temperature);
  std::vector<Direction> out;
  for (size_t i = 0; i < data.size(); ++i) {
    const int64_t n = static_cast<int64_t>(data[i].english.size());
    if (n == 0) continue;
    out.push_back({i, true, "eng_Latn", data[i].code, n, 0});
    out.push_back({i, false, data[i].code, "eng_Latn", n, 0});
  }
  TESSERA_CHECK_INPUT(!out.empty(), "no training pairs for the chosen languages");
  double total = 0;
  for (const Direction& d : out) total += static_cast<double>(d.pairs);
  double z = 0;
  for (Direction& d : out)
    z += (d.probability = std::pow(static_cast<double>(d.pairs) / total, 1.0 / temperature));
  for (Direction& d : out) d.probability /= z;
  return out;
}

std::vector<std::pair<size_t, size_t>> sample_picks(const std::vector<LanguagePairs>& data,
                                                    const std::vector<Direction>& directions,
                                                    int64_t count, Generator& gen) {
  std::vector<std::pair<size_t, size_t>> picks;
  for (int64_t i = 0; i < count; ++i) {
    double u = gen.next_double(), acc = 0;
    size_t d = 0;
    for (; d + 1 < directions.size(); ++d) {
      acc += directions[d].probability;
      if (u < acc) break;
    }
    const int64_t n = static_cast<int64_t>(data[directions[d].language].english.size());
    picks.emplace_back(d, static_cast<size_t>(gen.randint(0, n)));
  }
  return picks;
}

Batch make_batch(const std::vector<LanguagePairs>& data, const std::vector<Direction>& directions,
                 const std::vector<std::pair<size_t, size_t>>& picks,
                 const NllbTokenizer& tokenizer, int64_t max_tokens) {
  const int64_t B = static_cast<int64_t>(picks.size());
  const size_t body_limit = static_cast<size_t>(std::max<int64_t>(max_tokens - 2, 1));
  std::vector<std::vector<int32_t>> src(B), lab(B);
  int64_t S = 0, T = 0;
  Batch batch;
  for (int64_t b = 0; b < B; ++b) {
    const Direction& d = directions[picks[b].first];
    const LanguagePairs& lp = data[d.language];
    const auto& from = d.from_english ? lp.english[picks[b].second] : lp.other[picks[b].second];
    const auto& to = d.from_english ? lp.other[picks[b].second] : lp.english[picks[b].second];
    src[b].push_back(tokenizer.language_id(d.src));
    src[b].insert(src[b].end(), from.begin(), from.begin() + std::min(from.size(), body_limit));
    src[b].push_back(NllbTokenizer::kEos);
    lab[b].push_back(tokenizer.language_id(d.tgt));
    lab[b].insert(lab[b].end(), to.begin(), to.begin() + std::min(to.size(), body_limit));
    lab[b].push_back(NllbTokenizer::kEos);
    S = std::max<int64_t>(S, static_cast<int64_t>(src[b].size()));
    T = std::max<int64_t>(T, static_cast<int64_t>(lab[b].size()));
    batch.target_tokens += static_cast<int64_t>(lab[b].size());
  }
  std::vector<int64_t> s(B * S, NllbTokenizer::kPad), din(B * T, NllbTokenizer::kPad),
      l(B * T, -100);
  for (int64_t b = 0; b < B; ++b) {
    std::copy(src[b].begin(), src[b].end(), s.begin() + b * S);
    din[b * T] = NllbTokenizer::kEos;  // decoder_start_token_id
    for (size_t t = 0; t < lab[b].size(); ++t) {
      l[b * T + t] = lab[b][t];
      if (t + 1 < lab[b].size()) din[b * T + t + 1] = lab[b][t];
    }
  }
  batch.src = Tensor::from_vector(s, {B, S});
  batch.decoder_in = Tensor::from_vector(din, {B, T});
  batch.labels = Tensor::from_vector(l, {B, T});
  return batch;
}

std::vector<LanguagePairs> load_encoded_pairs(const std::string& corpus_dir,
                                              const std::string& split,
                                              const std::vector<std::string>& codes,
                                              const NllbTokenizer& tokenizer) {
  std::vector<LanguagePairs> out;
  for (const std::string& code : codes) {
    fs::path file = fs::path(corpus_dir) / split / ("eng_Latn-" + code + ".tsv");
    LanguagePairs lp;
    lp.code = code;
    if (!fs::exists(file)) {
      out.push_back(std::move(lp));
      continue;
    }
    std::vector<ParallelPair> pairs = read_pair_file(file.string());
    lp.english.resize(pairs.size());
    lp.other.resize(pairs.size());
#pragma omp parallel for schedule(dynamic, 256)
    for (int64_t i = 0; i < static_cast<int64_t>(pairs.size()); ++i) {
      lp.english[i] = tokenizer.encode_text(pairs[i].english);
      lp.other[i] = tokenizer.encode_text(pairs[i].other);
    }
    out.push_back(std::move(lp));
  }
  return out;
}

NllbTokenizer train_nllb_tokenizer(const std::string& corpus_dir,
                                   const std::vector<std::string>& codes, int64_t vocab_size,
                                   double temperature, const std::string& work_dir, uint64_t seed) {
  // Temperature-sampled text so that small languages and their scripts get pieces too.
  std::vector<std::vector<ParallelPair>> per_language;
  double total = 0;
  for (const std::string& code : codes) {
    if (code == "eng_Latn") continue;
    fs::path file = fs::path(corpus_dir) / "train" / ("eng_Latn-" + code + ".tsv");
    per_language.push_back(fs::exists(file) ? read_pair_file(file.string())
                                            : std::vector<ParallelPair>{});
    total += static_cast<double>(per_language.back().size());
  }
  TESSERA_CHECK_INPUT(total > 0, "{}: no training pairs for the chosen languages", corpus_dir);
  const double budget = std::min(200000.0, total);
  double z = 0;
  std::vector<double> weight;
  for (const auto& p : per_language)
    weight.push_back(std::pow(static_cast<double>(p.size()) / total, 1.0 / temperature));
  for (double w : weight) z += w;
  fs::create_directories(work_dir);
  fs::path text = fs::path(work_dir) / "spm_training_text.txt";
  {
    std::ofstream out(text);
    Generator gen(seed);
    for (size_t i = 0; i < per_language.size(); ++i) {
      if (per_language[i].empty()) continue;
      int64_t take = std::max<int64_t>(50, static_cast<int64_t>(budget * weight[i] / z));
      for (int64_t k = 0; k < take; ++k) {
        const ParallelPair& p =
            per_language[i][gen.randint(0, static_cast<int64_t>(per_language[i].size()))];
        out << p.english << "\n" << p.other << "\n";
      }
    }
  }
  text::SentencePieceTrainOptions o;
  o.input_files = {text.string()};
  o.model_prefix = (fs::path(work_dir) / "spm").string();
  o.vocab_size = static_cast<int>(vocab_size);
  o.model_type = text::SentencePieceModelType::Unigram;
  o.character_coverage = 0.9995;
  o.byte_fallback = true;
  o.hard_vocab_limit = false;
  o.num_threads = 2;
  text::train_sentencepiece(o);
  auto pieces = text::SentencePieceTokenizer::load(o.model_prefix + ".model");
  fs::remove(text);
  fs::remove(o.model_prefix + ".model");
  fs::remove(o.model_prefix + ".vocab");
  std::vector<std::string> all = {"eng_Latn"};
  for (const std::string& c : codes)
    if (c != "eng_Latn") all.push_back(c);
  return NllbTokenizer::from_parts(std::move(pieces), all);
}

}  // namespace tessera::mt
