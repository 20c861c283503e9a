#include "tessera/interp/sae_format.h"

#include <filesystem>
#include <regex>

#include "tessera/core/error.h"
#include "tessera/core/io/safetensors.h"
#include "tessera/models/causal_lm.h"

namespace tessera::interp {

namespace fs = std::filesystem;

namespace {

constexpr const char* kSaelensWeights = "sae_weights.safetensors";
constexpr const char* kSparsifyWeights = "sae.safetensors";

// The parameters as another tool sees them: the "scale" normalisation folded in, so that
// encode(x) and decode(z) on raw activations give what Tessera computes.
// With x' = s x: W_enc (s x - b) = (s W_enc)(x - b / s) and (W_dec z + b) / s.
struct ExportedParameters {
  std::vector<float> W_enc, b_enc, W_dec, b_dec;
};
ExportedParameters exported(const TopKSae& sae) {
  ExportedParameters p{sae.W_enc, sae.b_enc, sae.W_dec, sae.b_pre};
  if (sae.config().normalization == SaeNormalization::scale && sae.config().input_scale != 1.0) {
    const float s = static_cast<float>(sae.config().input_scale);
    for (float& w : p.W_enc) w *= s;
    for (float& w : p.W_dec) w /= s;
    for (float& b : p.b_dec) b /= s;
  }
  return p;
}

Tensor as_tensor(const std::vector<float>& values, const Shape& shape) {
  return Tensor::from_vector<float>(values, shape);
}

std::vector<float> transposed(const std::vector<float>& m, int64_t rows, int64_t cols) {
  std::vector<float> out(m.size());
  for (int64_t r = 0; r < rows; ++r) {
    for (int64_t c = 0; c < cols; ++c) out[c * rows + r] = m[r * cols + c];
  }
  return out;
}

std::vector<float> read_tensor(const io::SafetensorsFile& file, const std::string& name,
                               const Shape& expected) {
  TESSERA_CHECK_INPUT(file.has(name), "{}: missing tensor '{}'", file.source(), name);
  Tensor t = file.get(name, DType::f32);
  check_shape(t, expected, file.source() + ": tensor '" + name + "'");
  return t.contiguous().to_vector<float>();
}

int64_t required_int(const nlohmann::json& cfg, const char* key, const std::string& source) {
  TESSERA_CHECK_INPUT(cfg.contains(key) && cfg[key].is_number_integer(),
                      "{}: cfg.json needs an integer '{}'", source, key);
  return cfg[key].get<int64_t>();
}

// k from any of the places SAELens versions keep it.
int64_t saelens_k(const nlohmann::json& cfg, const std::string& source) {
  if (cfg.contains("k") && cfg["k"].is_number())
    return static_cast<int64_t>(cfg["k"].get<double>());
  const std::string activation =
      cfg.value("activation_fn_str", cfg.value("architecture", std::string()));
  TESSERA_CHECK_INPUT(activation == "topk" || activation == "batchtopk",
                      "{}: not a TopK SAE (architecture / activation_fn_str is '{}')", source,
                      activation);
  if (cfg.contains("activation_fn_kwargs") && cfg["activation_fn_kwargs"].contains("k")) {
    return cfg["activation_fn_kwargs"]["k"].get<int64_t>();
  }
  throw bad_input("{}: TopK SAE without k in cfg.json", source);
}

void fill_hook(SaeConfig& config, const nlohmann::json& cfg) {
  const nlohmann::json& meta =
      cfg.contains("metadata") && cfg["metadata"].is_object() ? cfg["metadata"] : cfg;
  config.model_name = meta.value("model_name", cfg.value("model_name", std::string()));
  const std::string hook = meta.value("hook_name", cfg.value("hook_name", std::string()));
  int64_t layer = -1;
  std::string site;
  if (parse_hook_name(hook, layer, site)) {
    config.hook_layer = layer;
    config.hook_site = site;
  }
}

}  // namespace

SaeFormat parse_sae_format(const std::string& name) {
  if (name == "saelens") return SaeFormat::saelens;
  if (name == "sparsify") return SaeFormat::sparsify;
  throw bad_input("unknown SAE format '{}' (expected saelens or sparsify)", name);
}

std::string hook_name(int64_t layer, const std::string& site) {
  return "blocks." + std::to_string(layer) + ".hook_" + site;
}

bool parse_hook_name(const std::string& name, int64_t& layer, std::string& site) {
  static const std::regex pattern(R"(blocks\.(\d+)\.hook_(resid_post|resid_pre|mlp_out))");
  std::smatch m;
  if (!std::regex_match(name, m, pattern)) return false;
  layer = std::stoll(m[1].str());
  site = m[2].str();
  return true;
}

nlohmann::json saelens_config(const TopKSae& sae) {
  const SaeConfig& c = sae.config();
  const std::string hook = c.hook_layer >= 0 ? hook_name(c.hook_layer, c.hook_site) : "";
  nlohmann::json cfg = {
      {"architecture", "topk"},
      {"d_in", c.d_in},
      {"d_sae", c.n_latents},
      {"k", c.k},
      {"dtype", "float32"},
      {"device", "cpu"},
      {"apply_b_dec_to_input", true},
      // Older SAELens readers (< 6) take TopK from these two keys.
      {"activation_fn_str", "topk"},
      {"activation_fn_kwargs", {{"k", c.k}}},
      {"normalize_activations",
       c.normalization == SaeNormalization::layer_norm ? "layer_norm" : "none"},
      {"finetuning_scaling_factor", false},
      {"model_name", c.model_name},
      {"hook_name", hook},
      {"hook_layer", c.hook_layer},
      {"hook_head_index", nullptr},
      {"metadata",
       {{"model_name", c.model_name},
        {"hook_name", hook},
        {"hook_layer", c.hook_layer},
        {"sae_lens_training_version", nullptr},
        {"trained_with", "tessera"}}},
  };
  return cfg;
}

nlohmann::json sparsify_config(const TopKSae& sae, bool multi_topk) {
  const SaeConfig& c = sae.config();
  return {{"activation", "topk"},
          {"expansion_factor", c.n_latents / c.d_in},
          {"normalize_decoder", true},
          {"num_latents", c.n_latents},
          {"k", c.k},
          {"multi_topk", multi_topk},
          {"skip_connection", false},
          {"transcode", false},
          {"d_in", c.d_in}};
}

void save_sae(const TopKSae& sae, const std::string& dir, SaeFormat format) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  TESSERA_CHECK_INPUT(!ec && fs::is_directory(dir), "{}: cannot create the SAE folder", dir);
  const int64_t n = sae.n(), d = sae.d();
  ExportedParameters p = exported(sae);
  if (format == SaeFormat::saelens) {
    io::save_safetensors((fs::path(dir) / kSaelensWeights).string(),
                         {{"W_enc", as_tensor(transposed(p.W_enc, n, d), {d, n})},
                          {"b_enc", as_tensor(p.b_enc, {n})},
                          {"W_dec", as_tensor(p.W_dec, {n, d})},
                          {"b_dec", as_tensor(p.b_dec, {d})}});
    models::write_json_file((fs::path(dir) / "cfg.json").string(), saelens_config(sae));
  } else {
    TESSERA_CHECK_INPUT(sae.config().normalization != SaeNormalization::layer_norm,
                        "{}: the sparsify format has no layer_norm input normalisation", dir);
    io::save_safetensors((fs::path(dir) / kSparsifyWeights).string(),
                         {{"encoder.weight", as_tensor(p.W_enc, {n, d})},
                          {"encoder.bias", as_tensor(p.b_enc, {n})},
                          {"W_dec", as_tensor(p.W_dec, {n, d})},
                          {"b_dec", as_tensor(p.b_dec, {d})}});
    models::write_json_file((fs::path(dir) / "cfg.json").string(), sparsify_config(sae));
  }
}

TopKSae load_sae(const std::string& dir) {
  const fs::path folder(dir);
  TESSERA_CHECK_INPUT(fs::is_directory(folder), "{}: not an SAE folder", dir);
  const std::string cfg_path = (folder / "cfg.json").string();
  TESSERA_CHECK_INPUT(fs::exists(cfg_path), "{}: missing cfg.json", dir);
  const nlohmann::json cfg = models::read_json_file(cfg_path);
  TESSERA_CHECK_INPUT(cfg.is_object(), "{}: cfg.json is not an object", cfg_path);
  SaeConfig config;
  std::vector<float> W_enc, b_enc, W_dec, b_pre;
  if (fs::exists(folder / kSaelensWeights)) {
    config.d_in = required_int(cfg, "d_in", cfg_path);
    config.n_latents = required_int(cfg, "d_sae", cfg_path);
    config.k = saelens_k(cfg, cfg_path);
    const std::string norm = cfg.value("normalize_activations", std::string("none"));
    TESSERA_CHECK_INPUT(norm == "none" || norm == "layer_norm",
                        "{}: normalize_activations '{}' is not supported (none, layer_norm)",
                        cfg_path, norm);
    config.normalization = parse_normalization(norm);
    TESSERA_CHECK_INPUT(cfg.value("apply_b_dec_to_input", true),
                        "{}: apply_b_dec_to_input false is not supported", cfg_path);
    fill_hook(config, cfg);
    config.validate();
    const int64_t n = config.n_latents, d = config.d_in;
    auto file = io::SafetensorsFile::open((folder / kSaelensWeights).string());
    W_enc = transposed(read_tensor(file, "W_enc", {d, n}), d, n);
    b_enc = read_tensor(file, "b_enc", {n});
    W_dec = read_tensor(file, "W_dec", {n, d});
    b_pre = read_tensor(file, "b_dec", {d});
  } else if (fs::exists(folder / kSparsifyWeights)) {
    config.d_in = required_int(cfg, "d_in", cfg_path);
    config.k = required_int(cfg, "k", cfg_path);
    const std::string activation = cfg.value("activation", std::string("topk"));
    TESSERA_CHECK_INPUT(activation == "topk", "{}: activation '{}' is not TopK", cfg_path,
                        activation);
    TESSERA_CHECK_INPUT(!cfg.value("skip_connection", false) && !cfg.value("transcode", false),
                        "{}: skip connections and transcoders are not supported", cfg_path);
    int64_t n = cfg.value("num_latents", int64_t{0});
    if (n == 0) n = config.d_in * cfg.value("expansion_factor", int64_t{0});
    config.n_latents = n;
    config.validate();
    const int64_t d = config.d_in;
    auto file = io::SafetensorsFile::open((folder / kSparsifyWeights).string());
    W_enc = read_tensor(file, "encoder.weight", {n, d});
    b_enc = read_tensor(file, "encoder.bias", {n});
    W_dec = read_tensor(file, "W_dec", {n, d});
    b_pre = read_tensor(file, "b_dec", {d});
  } else {
    throw bad_input("{}: neither {} (SAELens) nor {} (sparsify) found", dir, kSaelensWeights,
                    kSparsifyWeights);
  }
  return TopKSae::from_parameters(config, std::move(W_enc), std::move(b_enc), std::move(W_dec),
                                  std::move(b_pre));
}

}  // namespace tessera::interp
