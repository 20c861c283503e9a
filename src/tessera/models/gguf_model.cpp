#include "tessera/models/gguf_model.h"

#include <map>
#include <set>

#include "tessera/core/autograd.h"
#include "tessera/core/io/gguf.h"
#include "tessera/core/io/gguf_llama.h"
#include "tessera/models/llama.h"
#include "tessera/nn/init_scope.h"

namespace tessera::models {

std::unique_ptr<CausalLM> load_gguf_model(const std::string& path) {
  NoGrad no_grad;
  io::GgufFile file = io::GgufFile::open(path);
  const std::string arch = file.has("general.architecture") ? file.get_string("general.architecture") : "";
  TESSERA_CHECK_INPUT(arch == "llama", "{}: general.architecture \"{}\" is not supported (llama is)",
                      path, arch);
  io::GgufLlamaConfig meta = io::llama_metadata(file);
  nlohmann::json config = {
      {"model_type", "llama"},
      {"vocab_size", meta.vocab_size},
      {"hidden_size", meta.embedding_length},
      {"intermediate_size", meta.feed_forward_length},
      {"num_hidden_layers", meta.block_count},
      {"num_attention_heads", meta.head_count},
      {"num_key_value_heads", meta.head_count_kv},
      {"max_position_embeddings", meta.context_length},
      {"rms_norm_eps", meta.rms_norm_eps},
      {"rope_theta", meta.rope_freq_base},
      {"tie_word_embeddings", !file.has_tensor("output.weight")},
  };
  // llama.cpp keeps llama3-style scaling as per-frequency factors (rope_freqs.weight) rather
  // than the rope_scaling keys; Tessera cannot recover the keys from them, so it says so.
  TESSERA_CHECK_INPUT(!file.has_tensor("rope_freqs.weight"),
                      "{}: rope_freqs.weight (llama3 rope scaling) in GGUF is not supported yet; "
                      "load the Hugging Face folder instead",
                      path);
  if (meta.rope_scaling_factor > 0 && meta.rope_scaling_factor != 1.0) {
    config["rope_scaling"] = {{"rope_type", "linear"}, {"factor", meta.rope_scaling_factor}};
  }
  std::unique_ptr<CausalLM> model;
  {
    nn::SkipParameterInit skip_init;  // every parameter is read from the file below
    model = create_model(config);
  }
  nn::ParameterRefs params = model->parameters();
  std::map<std::string, Tensor*> by_name(params.begin(), params.end());
  std::set<std::string> filled;
  for (const io::GgufTensorInfo& info : file.tensors()) {
    std::optional<std::string> hf = io::llama_hf_tensor_name(info.name);
    TESSERA_CHECK_INPUT(hf.has_value(), "{}: tensor {} has no Llama counterpart", path, info.name);
    auto it = by_name.find(*hf);
    TESSERA_CHECK_INPUT(it != by_name.end(), "{}: tensor {} ({}) is not a parameter of this config",
                        path, info.name, *hf);
    Tensor t = file.get_f32(info.name);
    if (hf->find("self_attn.q_proj.weight") != std::string::npos) {
      t = io::llama_unpermute_qk(t, static_cast<int64_t>(meta.head_count));
    } else if (hf->find("self_attn.k_proj.weight") != std::string::npos) {
      t = io::llama_unpermute_qk(t, static_cast<int64_t>(meta.head_count_kv));
    }
    TESSERA_CHECK_INPUT(t.shape() == it->second->shape(), "{}: tensor {} has shape {}, expected {}",
                        path, info.name, shape_str(t.shape()), shape_str(it->second->shape()));
    *it->second = t.set_name(*hf);
    filled.insert(*hf);
  }
  for (const auto& [name, slot] : params) {
    TESSERA_CHECK_INPUT(filled.count(name), "{}: no tensor for {}", path, name);
  }
  return model;
}

}  // namespace tessera::models
