// NLLB tokenizer conventions (fairseq id layout, language codes, source layouts) and the
// text-to-text translation path on a tiny random model.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

#include <unistd.h>

#include "tessera/mt/translate.h"

namespace tessera::mt {
namespace {

namespace fs = std::filesystem;

struct Scratch {
  fs::path dir;
  Scratch() {
    dir = fs::temp_directory_path() / ("tessera_nllb_tok_" + std::to_string(getpid()));
    fs::create_directories(dir);
  }
  ~Scratch() { fs::remove_all(dir); }
};

text::SentencePieceTokenizer tiny_pieces(const fs::path& dir) {
  fs::path corpus = dir / "text.txt";
  std::ofstream out(corpus);
  const char* words[] = {"the", "house", "is", "red",  "la",   "maison",
                         "est", "rouge", "el", "casa", "roja", "blue"};
  for (int i = 0; i < 400; ++i)
    out << words[i % 12] << " " << words[(i * 7) % 12] << " " << words[(i * 5) % 12] << "\n";
  out.close();
  text::SentencePieceTrainOptions o;
  o.input_files = {corpus.string()};
  o.model_prefix = (dir / "spm").string();
  o.vocab_size = 40;
  o.hard_vocab_limit = false;
  o.character_coverage = 1.0;
  text::train_sentencepiece(o);
  return text::SentencePieceTokenizer::load((dir / "spm.model").string());
}

TEST(NllbTokenizer, FairseqLayoutAndSourceConventions) {
  Scratch s;
  auto pieces = tiny_pieces(s.dir);
  const int32_t P = pieces.vocab_size();
  NllbTokenizer tok = NllbTokenizer::from_parts(pieces, {"eng_Latn", "fra_Latn", "spa_Latn"});
  EXPECT_EQ(tok.vocab_size(), P + 1 + 3 + 1);
  EXPECT_EQ(tok.language_id("eng_Latn"), P + 1);
  EXPECT_EQ(tok.language_id("spa_Latn"), P + 3);
  std::vector<int> raw = pieces.encode_ids("the red house");
  std::vector<int32_t> body = tok.encode_text("the red house");
  ASSERT_EQ(raw.size(), body.size());
  for (size_t i = 0; i < raw.size(); ++i) EXPECT_EQ(body[i], raw[i] + 1);  // fairseq offset
  std::vector<int32_t> src = tok.encode_source("the red house", "eng_Latn");
  EXPECT_EQ(src.front(), P + 1);
  EXPECT_EQ(src.back(), NllbTokenizer::kEos);
  std::vector<int32_t> legacy = tok.encode_source("the red house", "eng_Latn", true);
  EXPECT_EQ(legacy.back(), P + 1);
  EXPECT_EQ(legacy[legacy.size() - 2], NllbTokenizer::kEos);
  std::vector<int32_t> tgt = tok.encode_target("la maison rouge", "fra_Latn");
  EXPECT_EQ(tgt.front(), P + 2);
  EXPECT_EQ(tok.decode(tgt), "la maison rouge");  // specials and language codes skipped
  EXPECT_EQ(tok.encode_text("zzz\xe2\x98\x83")[0] >= 0, true);
  EXPECT_THROW(tok.language_id("xxx_Latn"), Error);

  tok.save(s.dir.string());
  NllbTokenizer again = NllbTokenizer::load(s.dir.string());
  EXPECT_EQ(again.language_codes(), tok.language_codes());
  EXPECT_EQ(again.encode_source("the blue house", "spa_Latn"),
            tok.encode_source("the blue house", "spa_Latn"));
  EXPECT_THROW(NllbTokenizer::load((s.dir / "missing").string()), Error);
}

TEST(Translate, LinesThroughATinyModel) {
  Scratch s;
  NllbTokenizer tok = NllbTokenizer::from_parts(tiny_pieces(s.dir), {"eng_Latn", "fra_Latn"});
  nlohmann::json c = {{"model_type", "m2m_100"},
                      {"vocab_size", tok.vocab_size()},
                      {"d_model", 16},
                      {"encoder_layers", 1},
                      {"decoder_layers", 1},
                      {"encoder_attention_heads", 2},
                      {"decoder_attention_heads", 2},
                      {"encoder_ffn_dim", 16},
                      {"decoder_ffn_dim", 16},
                      {"max_position_embeddings", 64}};
  auto model = models::create_seq2seq_model(c, 1);
  TranslateOptions o;
  o.src_lang = "eng_Latn";
  o.tgt_lang = "fra_Latn";
  o.decode.beam_size = 3;
  o.decode.num_return = 3;
  o.decode.max_length_offset = 4;
  auto out = translate_lines(*model, tok, {"the red house", "", "blue"}, o);
  ASSERT_EQ(out.size(), 3u);
  EXPECT_EQ(out[1].size(), 1u);
  EXPECT_EQ(out[1][0].text, "");
  ASSERT_EQ(out[0].size(), 3u);
  EXPECT_EQ(out[0][0].tokens.front(), tok.language_id("fra_Latn"));  // forced target language
  EXPECT_GE(out[0][0].score, out[0][1].score);
  EXPECT_GE(out[0][1].score, out[0][2].score);
  o.tgt_lang = "deu_Latn";
  EXPECT_THROW(translate_lines(*model, tok, {"x"}, o), Error);
}

}  // namespace
}  // namespace tessera::mt
