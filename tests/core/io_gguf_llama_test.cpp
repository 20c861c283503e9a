// GGUF block dequantisation against ggml's reference, and the llama helpers (metadata,
// tokenizer arrays, tensor names, q/k row order) on files written by the GGUF writer.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstring>

#include "io_test_helpers.h"
#include "tessera/core/io/gguf.h"
#include "tessera/core/io/gguf_llama.h"

namespace tessera::io {
namespace {

using testing::bad_input_message;
using ::testing::ElementsAre;
using ::testing::HasSubstr;

// Checksums of ggml's dequantize_row_<type> (ggml-quants.c, llama.cpp c392e509) run on two
// pseudo-random blocks built exactly as make_blocks() below builds them: a dev-only harness
// linked against ggml printed them. sum = sum(y), weighted = sum(y[i] * ((37 i) % 101 + 1)).
struct DequantGolden {
  GgmlType type;
  int scale_offset;  // where d lives in the block
  int min_offset;    // where the f16 min/dmin lives (-1: none)
  bool f32_scale;    // Q8_K keeps d as f32
  double sum, weighted, y1, y_last;
};

constexpr DequantGolden kGolden[] = {
    {GgmlType::Q4_0, 0, -1, false, -0.110687256, -5.57125854, -0.036895752, 0.0983886719},
    {GgmlType::Q4_1, 0, 2, false, 5.33892822, 250.27475, 0.0896911621, 0.203979492},
    {GgmlType::Q5_0, 0, -1, false, -0.811706543, -95.2033386, 0.135284424, 0.36895752},
    {GgmlType::Q5_1, 0, 2, false, 12.8410645, 698.410553, 0.335662842, 0.277770996},
    {GgmlType::Q8_0, 0, -1, false, 0.467346191, 556.597015, -0.221374512, -2.36132812},
    {GgmlType::Q2_K, 80, 82, false, 386.355103, 19869.2246, 0, 0.337158203},
    {GgmlType::Q3_K, 108, -1, false, 12.2124939, 1238.57809, 0.467346191, 2.36132812},
    {GgmlType::Q4_K, 0, 2, false, 2734.60406, 139419.312, 4.29302979, 0.386352539},
    {GgmlType::Q5_K, 0, 2, false, 6673.10757, 336307.925, 3.30194092, 27.0730591},
    {GgmlType::Q6_K, 208, -1, false, -105.755524, 17173.2753, 5.86642456, -0.688720703},
    {GgmlType::Q8_K, 0, -1, true, 0.799501106, -510.056334, 1.02090001, 1.42680001},
};

std::string make_blocks(const DequantGolden& golden) {
  const GgmlTypeTraits& traits = ggml_type_traits(golden.type);
  uint32_t state = 12345u + static_cast<uint32_t>(golden.type);
  std::string bytes;
  for (int block = 0; block < 2; ++block) {
    std::string b;
    for (int64_t i = 0; i < traits.block_bytes; ++i) {
      state = state * 1664525u + 1013904223u;
      b += static_cast<char>(state >> 24);
    }
    const float d = 0.0123f * static_cast<float>(block + 1);
    if (golden.f32_scale) {
      std::memcpy(b.data() + golden.scale_offset, &d, 4);
    } else {
      const uint16_t d16 = f32_to_f16(d);
      std::memcpy(b.data() + golden.scale_offset, &d16, 2);
      if (golden.min_offset >= 0) {
        const uint16_t m16 = f32_to_f16(-0.0456f * static_cast<float>(block + 1));
        std::memcpy(b.data() + golden.min_offset, &m16, 2);
      }
    }
    bytes += b;
  }
  return bytes;
}

TEST(GgufDequantize, MatchesGgmlReference) {
  for (const DequantGolden& golden : kGolden) {
    const GgmlTypeTraits& traits = ggml_type_traits(golden.type);
    SCOPED_TRACE(std::string(traits.name));
    const std::string blocks = make_blocks(golden);
    const int64_t n = 2 * traits.block_size;
    std::vector<float> y(static_cast<size_t>(n));
    dequantize_blocks(golden.type, reinterpret_cast<const uint8_t*>(blocks.data()), y.data(), n);
    double sum = 0, weighted = 0;
    for (int64_t i = 0; i < n; ++i) {
      sum += y[i];
      weighted += y[i] * static_cast<double>((i * 37) % 101 + 1);
    }
    const double tolerance = 1e-6 * (1 + std::fabs(golden.weighted));
    EXPECT_NEAR(sum, golden.sum, tolerance);
    EXPECT_NEAR(weighted, golden.weighted, tolerance);
    EXPECT_NEAR(y[1], golden.y1, 1e-6);
    EXPECT_NEAR(y[n - 1], golden.y_last, 1e-6);
  }
}

TEST(GgufDequantize, ReadsQuantisedTensorsFromAFileWithTheirShape) {
  // The two golden Q6_K blocks as one [2, 256] tensor (ggml dims [256, 2]) in a hand-built
  // file: each row is one block, in order.
  const DequantGolden& golden = kGolden[9];
  ASSERT_EQ(golden.type, GgmlType::Q6_K);
  const std::string blocks = make_blocks(golden);
  std::string header = std::string("GGUF") + testing::le_bytes(3, 4) + testing::le_bytes(1, 8) +
                       testing::le_bytes(0, 8);
  header += testing::le_bytes(1, 8) + "k" + testing::le_bytes(2, 4) + testing::le_bytes(256, 8) +
            testing::le_bytes(2, 8) + testing::le_bytes(14, 4) + testing::le_bytes(0, 8);
  header.append((32 - header.size() % 32) % 32, '\0');
  const std::string image = header + blocks;
  const GgufFile file =
      GgufFile::parse(reinterpret_cast<const uint8_t*>(image.data()), image.size(), "k.gguf");
  const Tensor k = file.get("k");
  EXPECT_THAT(k.shape(), ElementsAre(2, 256));
  EXPECT_EQ(k.dtype(), DType::f32);
  EXPECT_NEAR(k.at({0, 1}), golden.y1, 1e-6);
  EXPECT_NEAR(k.at({1, 255}), golden.y_last, 1e-6);
}

GgufMetadata llama_metadata_entries() {
  return {
      {"general.architecture", GgufValue::string("llama")},
      {"general.name", GgufValue::string("tiny")},
      {"llama.context_length", GgufValue::u32(2048)},
      {"llama.embedding_length", GgufValue::u32(64)},
      {"llama.block_count", GgufValue::u32(2)},
      {"llama.feed_forward_length", GgufValue::u32(172)},
      {"llama.attention.head_count", GgufValue::u32(8)},
      {"llama.attention.head_count_kv", GgufValue::u32(2)},
      {"llama.rope.freq_base", GgufValue::f32(500000.0f)},
      {"llama.attention.layer_norm_rms_epsilon", GgufValue::f32(1e-5f)},
      {"tokenizer.ggml.model", GgufValue::string("gpt2")},
      {"tokenizer.ggml.pre", GgufValue::string("llama-bpe")},
      {"tokenizer.ggml.tokens", GgufValue::string_array({"<s>", "</s>", "a", "b", "ab"})},
      {"tokenizer.ggml.scores", GgufValue::array<float>({0, 0, -1, -2, -3})},
      {"tokenizer.ggml.token_type", GgufValue::array<int32_t>({3, 3, 1, 1, 1})},
      {"tokenizer.ggml.merges", GgufValue::string_array({"a b"})},
      {"tokenizer.ggml.bos_token_id", GgufValue::u32(0)},
      {"tokenizer.ggml.eos_token_id", GgufValue::u32(1)},
      {"tokenizer.ggml.add_bos_token", GgufValue::boolean(true)},
      {"tokenizer.chat_template", GgufValue::string("{{ messages }}")},
  };
}

GgufFile file_with(const GgufMetadata& metadata, std::string& image) {
  image = serialize_gguf(metadata, {});
  return GgufFile::parse(reinterpret_cast<const uint8_t*>(image.data()), image.size(), "l.gguf");
}

TEST(GgufLlama, ReadsHyperParametersAndTokenizer) {
  std::string image;
  const GgufFile file = file_with(llama_metadata_entries(), image);
  const GgufLlamaConfig config = llama_metadata(file);
  EXPECT_EQ(config.architecture, "llama");
  EXPECT_EQ(config.name, "tiny");
  EXPECT_EQ(config.context_length, 2048u);
  EXPECT_EQ(config.embedding_length, 64u);
  EXPECT_EQ(config.block_count, 2u);
  EXPECT_EQ(config.feed_forward_length, 172u);
  EXPECT_EQ(config.head_count, 8u);
  EXPECT_EQ(config.head_count_kv, 2u);
  EXPECT_EQ(config.rope_freq_base, 500000.0);
  EXPECT_FLOAT_EQ(static_cast<float>(config.rms_norm_eps), 1e-5f);
  EXPECT_EQ(config.rope_dimension_count, 8u);
  EXPECT_EQ(config.vocab_size, 5u);

  const GgufTokenizer tokenizer = gguf_tokenizer(file);
  EXPECT_EQ(tokenizer.model, "gpt2");
  EXPECT_EQ(tokenizer.pre, "llama-bpe");
  EXPECT_THAT(tokenizer.tokens, ElementsAre("<s>", "</s>", "a", "b", "ab"));
  EXPECT_THAT(tokenizer.scores, ElementsAre(0, 0, -1, -2, -3));
  EXPECT_THAT(tokenizer.token_types, ElementsAre(3, 3, 1, 1, 1));
  EXPECT_THAT(tokenizer.merges, ElementsAre("a b"));
  EXPECT_EQ(tokenizer.bos_token_id, 0);
  EXPECT_EQ(tokenizer.eos_token_id, 1);
  EXPECT_FALSE(tokenizer.unknown_token_id.has_value());
  EXPECT_EQ(tokenizer.add_bos_token, true);
  EXPECT_FALSE(tokenizer.add_eos_token.has_value());
  EXPECT_EQ(tokenizer.chat_template, "{{ messages }}");
}

GgufMetadata with(GgufMetadata metadata, const std::string& key, std::optional<GgufValue> value) {
  for (auto it = metadata.begin(); it != metadata.end(); ++it) {
    if (it->first == key) {
      if (value) {
        it->second = *value;
      } else {
        metadata.erase(it);
      }
      return metadata;
    }
  }
  if (value) metadata.emplace_back(key, *value);
  return metadata;
}

TEST(GgufLlama, DefaultsAndErrors) {
  const GgufMetadata base = llama_metadata_entries();
  std::string image;
  {
    const GgufFile file = file_with(with(with(base, "llama.attention.head_count_kv", std::nullopt),
                                         "llama.rope.freq_base", std::nullopt),
                                    image);
    const GgufLlamaConfig config = llama_metadata(file);
    EXPECT_EQ(config.head_count_kv, 8u);
    EXPECT_EQ(config.rope_freq_base, 10000.0);
  }
  struct Case {
    std::string key;
    std::optional<GgufValue> value;
    std::string expected;
  };
  const std::vector<Case> cases = {
      {"llama.block_count", std::nullopt, "l.gguf: metadata key 'llama.block_count' is missing"},
      {"llama.block_count", GgufValue::string("2"),
       "l.gguf: metadata 'llama.block_count': is string, expected an unsigned integer"},
      {"llama.block_count", GgufValue::u32(0),
       "l.gguf: metadata 'llama.block_count' is 0, expected a positive count"},
      {"llama.attention.head_count_kv", GgufValue::u32(3),
       "l.gguf: 8 attention heads cannot be shared by 3 key/value heads (not a multiple)"},
      {"llama.attention.head_count", GgufValue::u32(5),
       "l.gguf: 5 attention heads cannot be shared by 2 key/value heads (not a multiple)"},
      {"llama.attention.head_count", GgufValue::u32(6),
       "l.gguf: embedding_length 64 is not a multiple of head_count 6"},
      {"llama.attention.layer_norm_rms_epsilon", GgufValue::f32(-1.0f),
       "l.gguf: metadata 'llama.attention.layer_norm_rms_epsilon' is -1, expected a small "
       "positive number"},
      {"general.architecture", std::nullopt,
       "l.gguf: metadata key 'general.architecture' is missing"},
  };
  for (const Case& c : cases) {
    const GgufFile file = file_with(with(base, c.key, c.value), image);
    EXPECT_EQ(bad_input_message([&] { llama_metadata(file); }), c.expected) << c.key;
  }
  const std::vector<Case> tokenizer_cases = {
      {"tokenizer.ggml.scores", GgufValue::array<float>({1, 2}),
       "l.gguf: metadata 'tokenizer.ggml.scores' has 2 entries for 5 tokens"},
      {"tokenizer.ggml.token_type", GgufValue::array<int32_t>({1}),
       "l.gguf: metadata 'tokenizer.ggml.token_type' has 1 entries for 5 tokens"},
      {"tokenizer.ggml.eos_token_id", GgufValue::u32(5),
       "l.gguf: metadata 'tokenizer.ggml.eos_token_id' is 5, outside the vocabulary of 5 tokens"},
      {"tokenizer.ggml.tokens", GgufValue::array<int32_t>({1}),
       "l.gguf: metadata 'tokenizer.ggml.tokens': is array of 1 i32, expected an array of string"},
  };
  for (const Case& c : tokenizer_cases) {
    const GgufFile file = file_with(with(base, c.key, c.value), image);
    EXPECT_EQ(bad_input_message([&] { gguf_tokenizer(file); }), c.expected) << c.key;
  }
}

TEST(GgufLlama, MapsTensorNamesToHuggingFace) {
  EXPECT_EQ(llama_hf_tensor_name("token_embd.weight"), "model.embed_tokens.weight");
  EXPECT_EQ(llama_hf_tensor_name("output.weight"), "lm_head.weight");
  EXPECT_EQ(llama_hf_tensor_name("output_norm.weight"), "model.norm.weight");
  EXPECT_EQ(llama_hf_tensor_name("blk.0.attn_q.weight"), "model.layers.0.self_attn.q_proj.weight");
  EXPECT_EQ(llama_hf_tensor_name("blk.17.attn_output.weight"),
            "model.layers.17.self_attn.o_proj.weight");
  EXPECT_EQ(llama_hf_tensor_name("blk.3.ffn_down.weight"), "model.layers.3.mlp.down_proj.weight");
  EXPECT_EQ(llama_hf_tensor_name("blk.3.ffn_norm.weight"),
            "model.layers.3.post_attention_layernorm.weight");
  EXPECT_EQ(llama_hf_tensor_name("blk.2.attn_k.bias"), "model.layers.2.self_attn.k_proj.bias");
  EXPECT_EQ(llama_hf_tensor_name("rope_freqs.weight"), std::nullopt);
  EXPECT_EQ(llama_hf_tensor_name("blk.x.attn_q.weight"), std::nullopt);
  EXPECT_EQ(llama_hf_tensor_name("blk.1.attn_q"), std::nullopt);
  EXPECT_EQ(llama_hf_tensor_name("blk..attn_q.weight"), std::nullopt);
}

TEST(GgufLlama, UnpermuteUndoesTheConverterRowOrder) {
  // The converter: HF rows (head h, t in {0,1}, j < half) move to GGUF row h*hd + 2j + t.
  const int64_t heads = 2, head_dim = 6, in = 3, half = head_dim / 2;
  const int64_t out = heads * head_dim;
  std::vector<float> hf(static_cast<size_t>(out * in)), gguf(hf.size());
  for (size_t i = 0; i < hf.size(); ++i) hf[i] = static_cast<float>(i) * 0.5f + 1;
  for (int64_t h = 0; h < heads; ++h) {
    for (int64_t t = 0; t < 2; ++t) {
      for (int64_t j = 0; j < half; ++j) {
        for (int64_t c = 0; c < in; ++c) {
          gguf[(h * head_dim + 2 * j + t) * in + c] = hf[(h * head_dim + t * half + j) * in + c];
        }
      }
    }
  }
  const Tensor restored = llama_unpermute_qk(Tensor::from_vector<float>(gguf, {out, in}), heads);
  EXPECT_EQ(restored.to_vector<float>(), hf);
  EXPECT_THAT(restored.shape(), ElementsAre(out, in));
  EXPECT_THAT(bad_input_message([&] {
                llama_unpermute_qk(Tensor::zeros({10, 3}), 2);
              }),
              HasSubstr("10 rows cannot be split into 2 heads"));
}

}  // namespace
}  // namespace tessera::io
