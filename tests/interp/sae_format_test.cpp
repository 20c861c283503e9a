// SAELens and sparsify folders: golden headers, round trips, folded normalisation, errors.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "tessera/core/io/npy.h"
#include "tessera/core/io/safetensors.h"
#include "tessera/interp/activations.h"
#include "tessera/interp/sae_format.h"
#include "tessera/models/causal_lm.h"

namespace tessera::interp {
namespace {

namespace fs = std::filesystem;

fs::path temp_dir(const std::string& name) {
  fs::path dir =
      fs::temp_directory_path() / ("tessera_saefmt_" + name + "_" + std::to_string(::getpid()));
  fs::remove_all(dir);
  return dir;
}

TopKSae small_sae() {
  SaeConfig c{.d_in = 2,
              .n_latents = 3,
              .k = 1,
              .model_name = "tiny",
              .hook_layer = 1,
              .hook_site = "resid_post"};
  // W_enc rows (latents) [3, 2]; W_dec rows [3, 2].
  return TopKSae::from_parameters(c, {1, 2, 3, 4, 5, 6}, {0.5f, -0.5f, 0.25f},
                                  {1, 0, 0, 1, 0.6f, 0.8f}, {0.1f, -0.2f});
}

std::string header_json(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  uint64_t n = 0;
  in.read(reinterpret_cast<char*>(&n), 8);
  std::string json(n, '\0');
  in.read(json.data(), static_cast<std::streamsize>(n));
  while (!json.empty() && json.back() == ' ') json.pop_back();
  return json;
}

TEST(SaeFormat, SaelensGoldenHeaderAndConfig) {
  const fs::path dir = temp_dir("saelens");
  save_sae(small_sae(), dir.string(), SaeFormat::saelens);
  EXPECT_EQ(header_json((dir / "sae_weights.safetensors").string()),
            R"({"W_enc":{"dtype":"F32","shape":[2,3],"data_offsets":[0,24]},)"
            R"("b_enc":{"dtype":"F32","shape":[3],"data_offsets":[24,36]},)"
            R"("W_dec":{"dtype":"F32","shape":[3,2],"data_offsets":[36,60]},)"
            R"("b_dec":{"dtype":"F32","shape":[2],"data_offsets":[60,68]}})");
  auto file = io::SafetensorsFile::open((dir / "sae_weights.safetensors").string());
  // SAELens keeps W_enc as [d_in, d_sae]: the transpose of Tessera's rows.
  EXPECT_EQ(file.get("W_enc").to_vector<float>(), (std::vector<float>{1, 3, 5, 2, 4, 6}));
  const nlohmann::json cfg = models::read_json_file((dir / "cfg.json").string());
  EXPECT_EQ(cfg["architecture"], "topk");
  EXPECT_EQ(cfg["d_in"], 2);
  EXPECT_EQ(cfg["d_sae"], 3);
  EXPECT_EQ(cfg["k"], 1);
  EXPECT_EQ(cfg["activation_fn_str"], "topk");
  EXPECT_EQ(cfg["activation_fn_kwargs"]["k"], 1);
  EXPECT_EQ(cfg["hook_name"], "blocks.1.hook_resid_post");
  EXPECT_EQ(cfg["normalize_activations"], "none");
  EXPECT_EQ(cfg["apply_b_dec_to_input"], true);
  fs::remove_all(dir);
}

TEST(SaeFormat, SparsifyGoldenHeaderAndConfig) {
  const fs::path dir = temp_dir("sparsify");
  save_sae(small_sae(), dir.string(), SaeFormat::sparsify);
  EXPECT_EQ(header_json((dir / "sae.safetensors").string()),
            R"({"encoder.weight":{"dtype":"F32","shape":[3,2],"data_offsets":[0,24]},)"
            R"("encoder.bias":{"dtype":"F32","shape":[3],"data_offsets":[24,36]},)"
            R"("W_dec":{"dtype":"F32","shape":[3,2],"data_offsets":[36,60]},)"
            R"("b_dec":{"dtype":"F32","shape":[2],"data_offsets":[60,68]}})");
  const nlohmann::json cfg = models::read_json_file((dir / "cfg.json").string());
  EXPECT_EQ(cfg["num_latents"], 3);
  EXPECT_EQ(cfg["k"], 1);
  EXPECT_EQ(cfg["d_in"], 2);
  EXPECT_EQ(cfg["activation"], "topk");
  fs::remove_all(dir);
}

TEST(SaeFormat, RoundTripsBothLayouts) {
  for (auto format : {SaeFormat::saelens, SaeFormat::sparsify}) {
    const fs::path dir = temp_dir("roundtrip");
    TopKSae sae = small_sae();
    save_sae(sae, dir.string(), format);
    TopKSae loaded = load_sae(dir.string());
    EXPECT_EQ(loaded.W_enc, sae.W_enc);
    EXPECT_EQ(loaded.b_enc, sae.b_enc);
    EXPECT_EQ(loaded.W_dec, sae.W_dec);
    EXPECT_EQ(loaded.b_pre, sae.b_pre);
    EXPECT_EQ(loaded.k(), 1);
    if (format == SaeFormat::saelens) {
      EXPECT_EQ(loaded.config().hook_layer, 1);
      EXPECT_EQ(loaded.config().model_name, "tiny");
    }
    fs::remove_all(dir);
  }
}

TEST(SaeFormat, ScaleNormalisationIsFoldedIntoTheExport) {
  TopKSae sae = small_sae();
  sae.mutable_config().normalization = SaeNormalization::scale;
  sae.mutable_config().input_scale = 0.25;
  const fs::path dir = temp_dir("fold");
  save_sae(sae, dir.string());
  TopKSae loaded = load_sae(dir.string());
  EXPECT_EQ(loaded.config().normalization, SaeNormalization::none);
  std::vector<float> x = {3.0f, -1.0f, 0.5f, 7.0f}, a(4), b(4);
  sae.reconstruct(x.data(), 2, a.data());
  loaded.reconstruct(x.data(), 2, b.data());
  for (int i = 0; i < 4; ++i) EXPECT_NEAR(a[i], b[i], 1e-5);
  fs::remove_all(dir);
}

TEST(SaeFormat, BadFoldersAreNamed) {
  const fs::path dir = temp_dir("bad");
  EXPECT_THROW(load_sae(dir.string()), Error);
  save_sae(small_sae(), dir.string());
  nlohmann::json cfg = models::read_json_file((dir / "cfg.json").string());
  cfg["d_sae"] = 4;  // disagrees with the tensors
  models::write_json_file((dir / "cfg.json").string(), cfg);
  try {
    load_sae(dir.string());
    FAIL() << "expected a shape error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("W_enc"), std::string::npos) << e.what();
    EXPECT_EQ(e.kind(), ErrorKind::BadInput);
  }
  cfg["d_sae"] = 3;
  cfg.erase("k");
  cfg["architecture"] = "standard";
  cfg["activation_fn_str"] = "relu";
  models::write_json_file((dir / "cfg.json").string(), cfg);
  EXPECT_THROW(load_sae(dir.string()), Error);
  fs::remove_all(dir);
}

TEST(Activations, HarvestFoldersAndNpyFoldersRead) {
  for (bool bf16 : {false, true}) {
    const fs::path dir = temp_dir(bf16 ? "acts_bf16" : "acts_f32");
    ActivationWriter writer(dir.string(), 3, bf16, /*shard_rows=*/4,
                            {{"layer", 2}, {"site", "resid_post"}});
    std::vector<float> rows(10 * 3);
    for (size_t i = 0; i < rows.size(); ++i)
      rows[i] = 0.5f * static_cast<float>(i);  // exact in bf16
    writer.append(rows.data(), 7);
    writer.append(rows.data() + 21, 3);
    writer.finish();
    auto source = open_activations(dir.string());
    EXPECT_EQ(source->rows(), 10);
    EXPECT_EQ(source->d(), 3);
    EXPECT_EQ(source->metadata()["layer"], 2);
    std::vector<int64_t> ids = {9, 0, 4};
    std::vector<float> out(9);
    source->gather(ids.data(), 3, out.data());
    EXPECT_EQ(out, (std::vector<float>{13.5f, 14.0f, 14.5f, 0.0f, 0.5f, 1.0f, 6.0f, 6.5f, 7.0f}));
    fs::remove_all(dir);
  }
  // A plain folder of .npy files (activations from elsewhere).
  const fs::path dir = temp_dir("npy");
  fs::create_directories(dir);
  io::save_npy((dir / "a.npy").string(), Tensor::from_vector<float>({1, 2, 3, 4}, {2, 2}));
  io::save_npy((dir / "b.npy").string(), Tensor::from_vector<float>({5, 6}, {1, 2}));
  auto source = open_activations(dir.string());
  EXPECT_EQ(source->rows(), 3);
  std::vector<float> out(6);
  source->read(0, 3, out.data());
  EXPECT_EQ(out, (std::vector<float>{1, 2, 3, 4, 5, 6}));
  io::save_npy((dir / "c.npy").string(), Tensor::from_vector<float>({1, 2, 3}, {1, 3}));
  EXPECT_THROW(open_activations(dir.string()), Error);  // widths disagree
  fs::remove_all(dir);
}

}  // namespace
}  // namespace tessera::interp
