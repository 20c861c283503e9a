#include "tessera/models/mamba2_original.h"

#include <filesystem>
#include <map>
#include <set>

#include "tessera/core/autograd.h"
#include "tessera/core/io/safetensors.h"
#include "tessera/core/io/torch_pickle.h"

namespace tessera::models {

namespace fs = std::filesystem;

bool is_original_mamba_config(const nlohmann::json& c) {
  return c.is_object() && !c.contains("model_type") && c.contains("d_model") &&
         c.contains("n_layer");
}

namespace {
template <typename T>
T value_or(const nlohmann::json& j, const char* key, T fallback) {
  if (!j.is_object() || !j.contains(key) || j[key].is_null()) return fallback;
  try {
    return j[key].get<T>();
  } catch (const nlohmann::json::exception&) {
    throw bad_input("config.json: \"{}\" has the wrong type ({})", key, j[key].dump());
  }
}
}  // namespace

nlohmann::json mamba2_config_from_original(const nlohmann::json& c) {
  const nlohmann::json ssm =
      c.contains("ssm_cfg") && c["ssm_cfg"].is_object() ? c["ssm_cfg"] : nlohmann::json::object();
  const std::string layer = value_or<std::string>(ssm, "layer", "Mamba1");
  TESSERA_CHECK_INPUT(layer == "Mamba2",
                      "config.json: ssm_cfg.layer is \"{}\"; only Mamba2 checkpoints are supported",
                      layer);
  TESSERA_CHECK_INPUT(
      value_or<int64_t>(c, "d_intermediate", 0) == 0,
      "config.json: d_intermediate > 0 (MLP blocks between mixers) is not supported");
  TESSERA_CHECK_INPUT(!c.contains("attn_layer_idx") || c["attn_layer_idx"].empty(),
                      "config.json: attn_layer_idx (hybrid attention layers) is not supported");
  TESSERA_CHECK_INPUT(value_or<bool>(c, "rms_norm", true),
                      "config.json: rms_norm false is not supported");
  TESSERA_CHECK_INPUT(!value_or<bool>(ssm, "norm_before_gate", false),
                      "config.json: ssm_cfg.norm_before_gate true is not supported");
  TESSERA_CHECK_INPUT(!value_or<bool>(ssm, "D_has_hdim", false),
                      "config.json: ssm_cfg.D_has_hdim is not supported");
  TESSERA_CHECK_INPUT(value_or<bool>(ssm, "rmsnorm", true),
                      "config.json: ssm_cfg.rmsnorm false is not supported");
  const int64_t d_model = value_or<int64_t>(c, "d_model", 0);
  const int64_t expand = value_or<int64_t>(ssm, "expand", 2);
  const int64_t headdim = value_or<int64_t>(ssm, "headdim", 64);
  const int64_t d_ssm = value_or<int64_t>(ssm, "d_ssm", expand * d_model);
  TESSERA_CHECK_INPUT(d_ssm == expand * d_model,
                      "config.json: ssm_cfg.d_ssm {} differs from expand x d_model {} (partial "
                      "SSM) and is not supported",
                      d_ssm, expand * d_model);
  TESSERA_CHECK_INPUT(headdim > 0 && d_ssm % headdim == 0,
                      "config.json: d_ssm {} is not a multiple of headdim {}", d_ssm, headdim);
  int64_t vocab = value_or<int64_t>(c, "vocab_size", 0);
  const int64_t multiple = value_or<int64_t>(c, "pad_vocab_size_multiple", 1);
  if (multiple > 1 && vocab % multiple) vocab += multiple - vocab % multiple;
  nlohmann::json limit = {0.0, nullptr};
  if (ssm.contains("dt_limit") && ssm["dt_limit"].is_array() && ssm["dt_limit"].size() == 2)
    limit = ssm["dt_limit"];
  return {{"model_type", "mamba2"},
          {"vocab_size", vocab},
          {"hidden_size", d_model},
          {"num_hidden_layers", value_or<int64_t>(c, "n_layer", 0)},
          {"expand", expand},
          {"head_dim", headdim},
          {"num_heads", d_ssm / headdim},
          {"state_size", value_or<int64_t>(ssm, "d_state", 128)},
          {"n_groups", value_or<int64_t>(ssm, "ngroups", 1)},
          {"conv_kernel", value_or<int64_t>(ssm, "d_conv", 4)},
          {"chunk_size", value_or<int64_t>(ssm, "chunk_size", 256)},
          {"use_bias", value_or<bool>(ssm, "bias", false)},
          {"use_conv_bias", value_or<bool>(ssm, "conv_bias", true)},
          {"layer_norm_epsilon", value_or<double>(c, "norm_epsilon", 1e-5)},
          {"time_step_min", value_or<double>(ssm, "dt_min", 0.001)},
          {"time_step_max", value_or<double>(ssm, "dt_max", 0.1)},
          {"time_step_floor", value_or<double>(ssm, "dt_init_floor", 1e-4)},
          {"time_step_limit", limit},
          {"tie_word_embeddings", value_or<bool>(c, "tie_embeddings", true)}};
}

std::string mamba2_name_from_original(const std::string& name) {
  const std::string from = "backbone.embedding.";
  if (name.rfind(from, 0) == 0) return "backbone.embeddings." + name.substr(from.size());
  return name;
}

std::unique_ptr<CausalLM> load_mamba2_original_layout(const std::string& dir) {
  const fs::path config_path = fs::path(dir) / "config.json";
  if (!fs::is_directory(dir) || !fs::is_regular_file(config_path)) return nullptr;
  const nlohmann::json original = read_json_file(config_path.string());
  if (!is_original_mamba_config(original)) return nullptr;
  std::unique_ptr<CausalLM> model;
  try {
    model = create_model(mamba2_config_from_original(original));
  } catch (const Error& e) {
    throw e.with_context(dir);
  }
  std::map<std::string, Tensor> stored;
  std::string source;
  if (fs::is_regular_file(fs::path(dir) / "pytorch_model.bin")) {
    source = (fs::path(dir) / "pytorch_model.bin").string();
    stored = io::load_torch_state_dict(source);
  } else if (fs::is_regular_file(fs::path(dir) / "model.safetensors")) {
    source = (fs::path(dir) / "model.safetensors").string();
    io::SafetensorsFile file = io::SafetensorsFile::open(source);
    for (const std::string& name : file.names()) stored[name] = file.get(name);
  } else {
    throw bad_input("{}: neither pytorch_model.bin nor model.safetensors is present", dir);
  }
  std::map<std::string, Tensor> renamed;
  for (auto& [name, t] : stored) renamed[mamba2_name_from_original(name)] = t;
  NoGrad no_grad;
  std::set<std::string> expected;
  for (auto& [name, slot] : model->parameters()) {
    expected.insert(name);
    auto it = renamed.find(name);
    TESSERA_CHECK_INPUT(it != renamed.end(), "{}: tensor {} is missing from the checkpoint", source,
                        name);
    TESSERA_CHECK_INPUT(it->second.shape() == slot->shape(),
                        "{}: tensor {} has shape {}, but config.json implies {}", source, name,
                        shape_str(it->second.shape()), shape_str(slot->shape()));
    TESSERA_CHECK_INPUT(is_floating(it->second.dtype()),
                        "{}: tensor {} has dtype {}, expected a floating type", source, name,
                        dtype_name(it->second.dtype()));
    *slot = it->second.to(slot->dtype()).clone().set_name(name);
  }
  const std::vector<std::string> optional = model->optional_checkpoint_names();
  for (const auto& [name, t] : renamed) {
    const bool known =
        expected.count(name) || std::find(optional.begin(), optional.end(), name) != optional.end();
    TESSERA_CHECK_INPUT(known, "{}: unexpected tensor {} for an original Mamba-2 checkpoint",
                        source, name);
  }
  return model;
}

}  // namespace tessera::models
