// Benchmark helper for bench/compare/serve_load.sh: gives a GGUF written by `tessera export`
// (weights only) a SentencePiece-style vocabulary of the model's size under llama.cpp's
// tokenizer keys, so that llama-server loads the very same random weights. The benchmark sends
// token-id prompts, so the vocabulary's pieces only have to exist, not to match Tessera's.
//   serve_gguf_vocab IN.gguf OUT.gguf
#include <cstdio>
#include <random>
#include <set>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "tessera/core/error.h"
#include "tessera/core/io/gguf.h"

using namespace tessera;

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: %s IN.gguf OUT.gguf\n", argv[0]);
    return 2;
  }
  try {
    io::GgufFile file = io::GgufFile::open(argv[1]);
    int64_t vocab_size = 0;
    for (const auto& info : file.tensors()) {
      if (info.name == "token_embd.weight") vocab_size = info.shape[0];
    }
    TESSERA_CHECK_INPUT(vocab_size > 259, "{}: no token_embd.weight with more than 259 rows",
                        argv[1]);
    io::GgufMetadata metadata;
    for (const auto& [key, value] : file.metadata()) {
      if (key.rfind("tokenizer.", 0) != 0) metadata.emplace_back(key, value);
    }
    // llama.cpp's SentencePiece layout: <unk>, <s>, </s>, the 256 byte tokens, then pieces.
    std::vector<std::string> tokens = {"<unk>", "<s>", "</s>"};
    std::vector<int32_t> types = {2, 3, 3};  // unknown, control, control
    for (int b = 0; b < 256; ++b) {
      tokens.push_back(fmt::format("<0x{:02X}>", b));
      // Bytes 0x80-0xFF alone are not UTF-8; as byte tokens a random model would make
      // llama-server emit invalid text and drop the stream. As normal tokens they print as
      // their spelling, which is all a throughput benchmark needs.
      types.push_back(b < 0x80 ? 6 : 1);
    }
    std::set<std::string> seen;
    std::mt19937 rng(7);
    const std::string letters = "abcdefghijklmnopqrstuvwxyz";
    while (static_cast<int64_t>(tokens.size()) < vocab_size) {
      std::string piece = rng() % 2 ? "\xE2\x96\x81" : "";  // U+2581, SentencePiece's space
      int length = 1 + static_cast<int>(rng() % 8);
      for (int i = 0; i < length; ++i) piece += letters[rng() % letters.size()];
      if (!seen.insert(piece).second) continue;
      tokens.push_back(piece);
      types.push_back(1);  // normal
    }
    std::vector<float> scores(tokens.size());
    for (size_t i = 0; i < scores.size(); ++i) scores[i] = -static_cast<float>(i);
    metadata.emplace_back("tokenizer.ggml.model", io::GgufValue::string("llama"));
    metadata.emplace_back("tokenizer.ggml.tokens", io::GgufValue::string_array(tokens));
    metadata.emplace_back("tokenizer.ggml.scores", io::GgufValue::array(scores));
    metadata.emplace_back("tokenizer.ggml.token_type", io::GgufValue::array(types));
    metadata.emplace_back("tokenizer.ggml.unknown_token_id", io::GgufValue::u32(0));
    metadata.emplace_back("tokenizer.ggml.bos_token_id", io::GgufValue::u32(1));
    metadata.emplace_back("tokenizer.ggml.eos_token_id", io::GgufValue::u32(2));
    std::vector<io::GgufTensorToWrite> tensors;
    for (const auto& info : file.tensors()) {
      tensors.push_back({info.name, file.get(info.name), info.type});
    }
    io::save_gguf(argv[2], metadata, tensors);
    std::printf("wrote %s: %lld tokens\n", argv[2], static_cast<long long>(tokens.size()));
  } catch (const Error& e) {
    std::fprintf(stderr, "serve_gguf_vocab: %s\n", e.what());
    return e.exit_code();
  }
  return 0;
}
