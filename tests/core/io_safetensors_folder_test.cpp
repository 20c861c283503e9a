// Model folders: sharded checkpoints with model.safetensors.index.json, single files, and the
// errors a broken index produces.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "io_test_helpers.h"
#include "tessera/core/io/safetensors_folder.h"

namespace tessera::io {
namespace {

using testing::bad_input_message;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using testing::ScratchDir;
using testing::values;
using testing::write_bytes;

Tensor floats(std::vector<float> values) {
  const int64_t n = static_cast<int64_t>(values.size());
  return Tensor::from_vector<float>(values, {n});
}

// Two shards as Hugging Face writes them, plus the index.
void write_sharded(const ScratchDir& dir, const std::string& weight_map) {
  save_safetensors(dir.file("model-00001-of-00002.safetensors"),
                   {{"embed.weight", floats({1, 2, 3, 4})}, {"layers.0.w", floats({5, 6})}});
  save_safetensors(dir.file("model-00002-of-00002.safetensors"),
                   {{"layers.1.w", floats({7})}, {"head.weight", floats({8, 9})}});
  write_bytes(
      dir.file("model.safetensors.index.json"),
      R"({"metadata": {"total_size": 36, "format": "pt"}, "weight_map": )" + weight_map + "}");
}

const char* kFullWeightMap = R"({
  "embed.weight": "model-00001-of-00002.safetensors",
  "layers.0.w": "model-00001-of-00002.safetensors",
  "layers.1.w": "model-00002-of-00002.safetensors",
  "head.weight": "model-00002-of-00002.safetensors"})";

TEST(SafetensorsFolder, ReadsShardedCheckpoint) {
  ScratchDir dir;
  write_sharded(dir, kFullWeightMap);
  SafetensorsFolder weights = open_model_weights(dir.path().string());
  EXPECT_THAT(weights.names(),
              ElementsAre("embed.weight", "layers.0.w", "layers.1.w", "head.weight"));
  EXPECT_EQ(weights.files().size(), 2u);
  EXPECT_THAT(weights.index_path(), HasSubstr("model.safetensors.index.json"));
  EXPECT_THAT(weights.file_of("head.weight"), HasSubstr("model-00002-of-00002.safetensors"));
  EXPECT_EQ(values<float>(weights.get("head.weight")), (std::vector<float>{8, 9}));
  EXPECT_EQ(values<float>(weights.get("embed.weight")), (std::vector<float>{1, 2, 3, 4}));
  EXPECT_EQ(weights.info("layers.0.w").shape, (Shape{2}));
  EXPECT_EQ(weights.metadata().at("total_size"), "36");
  EXPECT_EQ(weights.metadata().at("format"), "pt");
  EXPECT_THAT(bad_input_message([&] { weights.get("nope"); }), HasSubstr("no tensor named 'nope'"));
}

TEST(SafetensorsFolder, ReadsSingleModelFileAndPlainFilePath) {
  ScratchDir dir;
  save_safetensors(dir.file("model.safetensors"), {{"w", floats({1, 2})}}, {{"format", "pt"}});
  save_safetensors(dir.file("other.safetensors"), {{"x", floats({3})}});
  SafetensorsFolder folder = open_model_weights(dir.path().string());
  EXPECT_THAT(folder.names(), ElementsAre("w"));
  EXPECT_EQ(folder.metadata().at("format"), "pt");
  EXPECT_TRUE(folder.index_path().empty());
  SafetensorsFolder file = open_model_weights(dir.file("other.safetensors"));
  EXPECT_THAT(file.names(), ElementsAre("x"));
}

TEST(SafetensorsFolder, FolderWithOneSafetensorsFileUsesIt) {
  ScratchDir dir;
  save_safetensors(dir.file("sae_weights.safetensors"), {{"W_enc", floats({1})}});
  EXPECT_THAT(open_model_weights(dir.path().string()).names(), ElementsAre("W_enc"));
}

TEST(SafetensorsFolder, EmptyOrAmbiguousFolderIsRefused) {
  ScratchDir dir;
  std::string message = bad_input_message([&] { open_model_weights(dir.path().string()); });
  EXPECT_THAT(message, HasSubstr(dir.path().string()));
  EXPECT_THAT(message, HasSubstr("model.safetensors"));
  save_safetensors(dir.file("a.safetensors"), {{"x", floats({1})}});
  save_safetensors(dir.file("b.safetensors"), {{"x", floats({1})}});
  EXPECT_THAT(bad_input_message([&] { open_model_weights(dir.path().string()); }),
              HasSubstr("ambiguous"));
}

TEST(SafetensorsFolder, IndexNamingAMissingTensorIsRefused) {
  ScratchDir dir;
  write_sharded(dir, R"({"ghost": "model-00001-of-00002.safetensors"})");
  std::string message = bad_input_message([&] { open_model_weights(dir.path().string()); });
  EXPECT_THAT(message, HasSubstr("model.safetensors.index.json"));
  EXPECT_THAT(message, HasSubstr("'ghost'"));
  EXPECT_THAT(message, HasSubstr("no such tensor"));
}

TEST(SafetensorsFolder, IndexNamingAMissingShardIsRefused) {
  ScratchDir dir;
  write_sharded(dir, R"({"w": "model-00009-of-00009.safetensors"})");
  EXPECT_THAT(bad_input_message([&] { open_model_weights(dir.path().string()); }),
              HasSubstr("model-00009-of-00009.safetensors"));
}

TEST(SafetensorsFolder, IndexPointingOutsideTheFolderIsRefused) {
  ScratchDir dir;
  write_sharded(dir, R"({"w": "../elsewhere.safetensors"})");
  EXPECT_THAT(bad_input_message([&] { open_model_weights(dir.path().string()); }),
              HasSubstr("outside the folder"));
}

TEST(SafetensorsFolder, MalformedIndexIsRefused) {
  ScratchDir dir;
  write_bytes(dir.file("model.safetensors.index.json"), "{\"weight_map\": [1, 2]}");
  EXPECT_THAT(bad_input_message([&] { open_model_weights(dir.path().string()); }),
              HasSubstr("weight_map"));
  write_bytes(dir.file("model.safetensors.index.json"), "{not json");
  EXPECT_THAT(bad_input_message([&] { open_model_weights(dir.path().string()); }),
              HasSubstr("not valid JSON"));
}

TEST(SafetensorsFolder, CorruptShardErrorNamesTheShard) {
  ScratchDir dir;
  write_sharded(dir, kFullWeightMap);
  write_bytes(dir.file("model-00002-of-00002.safetensors"), "tiny");
  std::string message = bad_input_message([&] { open_model_weights(dir.path().string()); });
  EXPECT_THAT(message, HasSubstr("model-00002-of-00002.safetensors"));
  EXPECT_THAT(message, HasSubstr("too short"));
}

}  // namespace
}  // namespace tessera::io
