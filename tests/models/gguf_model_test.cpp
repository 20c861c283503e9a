// A llama model exported as llama.cpp's convert script writes it (GGUF names, permuted q/k
// rows; models::save_llama_gguf) loads back with the same logits, and the row permutation is
// the inverse of the reader's (core/io, written independently).
#include <gtest/gtest.h>

#include <unistd.h>

#include <filesystem>

#include "tessera/core/io/gguf.h"
#include "tessera/core/io/gguf_llama.h"
#include "tessera/models/gguf_export.h"
#include "tessera/models/llama.h"

namespace tessera::models {
namespace {

namespace fs = std::filesystem;

nlohmann::json config(bool tied) {
  return {{"model_type", "llama"},    {"vocab_size", 40},        {"hidden_size", 64},
          {"intermediate_size", 96},  {"num_hidden_layers", 2},  {"num_attention_heads", 4},
          {"num_key_value_heads", 2}, {"max_position_embeddings", 64},
          {"rms_norm_eps", 1e-5},     {"tie_word_embeddings", tied}, {"initializer_range", 0.1}};
}

TEST(GgufModel, F32FileGivesTheSameLogits) {
  for (bool tied : {false, true}) {
    auto model = create_model(config(tied), 2);
    std::string path = (fs::temp_directory_path() / ("tessera_llama_" + std::to_string(::getpid()) + ".gguf")).string();
    save_llama_gguf(*model, path);
    auto loaded = load_model(path);
    Tensor ids = Tensor::from_vector<int64_t>({1, 7, 3, 39, 0}, {1, 5});
    std::vector<float> a = model->forward(ids).to_vector<float>(), b = loaded->forward(ids).to_vector<float>();
    for (size_t i = 0; i < a.size(); ++i) ASSERT_NEAR(a[i], b[i], 1e-5) << i;
    fs::remove(path);
  }
}

TEST(GgufModel, Q8_0FileIsClose) {
  auto model = create_model(config(false), 3);
  std::string path = (fs::temp_directory_path() / ("tessera_llama_q8_" + std::to_string(::getpid()) + ".gguf")).string();
  save_llama_gguf(*model, path, {io::GgmlType::Q8_0});
  auto loaded = load_model(path);
  Tensor ids = Tensor::from_vector<int64_t>({1, 7, 3, 39, 0}, {1, 5});
  std::vector<float> a = model->forward(ids).to_vector<float>(), b = loaded->forward(ids).to_vector<float>();
  double max_err = 0;
  for (size_t i = 0; i < a.size(); ++i) max_err = std::max(max_err, static_cast<double>(std::abs(a[i] - b[i])));
  EXPECT_LT(max_err, 0.05);
  EXPECT_GT(max_err, 0.0) << "Q8_0 should not be lossless";
  fs::remove(path);
}

TEST(GgufModel, ExportPermutationIsTheInverseOfTheReaders) {
  // 2 heads of size 4: GGUF row h*4 + 2j + t holds HF row h*4 + t*2 + j.
  std::vector<float> rows(8);
  for (int i = 0; i < 8; ++i) rows[i] = static_cast<float>(i);
  Tensor hf = Tensor::from_vector<float>(rows, {8, 1});
  EXPECT_EQ(llama_permute_qk(hf, 2).to_vector<float>(), (std::vector<float>{0, 2, 1, 3, 4, 6, 5, 7}));
  Generator gen(5);
  Tensor w = rand_normal({24, 5}, 0.0, 1.0, gen);
  EXPECT_EQ(io::llama_unpermute_qk(llama_permute_qk(w, 3), 3).to_vector<float>(), w.to_vector<float>());
}

TEST(GgufModel, ExportNamesMatchTheReadersMappingAndRefuseUnknownNames) {
  auto model = create_model(config(false), 4);
  for (auto& [name, tensor] : model->parameters()) {
    EXPECT_EQ(io::llama_hf_tensor_name(llama_gguf_tensor_name(name)), name);
  }
  EXPECT_THROW(llama_gguf_tensor_name("model.layers.0.mystery.weight"), Error);
}

}  // namespace
}  // namespace tessera::models
