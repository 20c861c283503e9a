#pragma once
// What every language model offers the layers above (generation, training, serving, SAE
// harvesting, alignment), whatever its architecture: Llama, Mamba-2, HGRN-Bit, ...
// A registry keyed by Hugging Face's `model_type` builds the right class from config.json.
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "tessera/core/tensor.h"
#include "tessera/nn/layers.h"

namespace tessera::models {

// Per-sequence decoding state (a KV cache for attention, recurrent states for SSMs).
class DecodeState {
 public:
  virtual ~DecodeState() = default;
  virtual int64_t length() const = 0;  // tokens consumed so far
};

class CausalLM {
 public:
  virtual ~CausalLM() = default;
  virtual std::string model_type() const = 0;
  virtual int64_t vocab_size() const = 0;
  virtual int64_t max_positions() const = 0;
  // The config.json this model was built from (upstream keys), as saved next to its weights.
  virtual nlohmann::json config_json() const = 0;

  // Training and scoring: ids [B, T] (integer) -> logits [B, T, vocab] (f32). Recorded for
  // autograd when the parameters require grad.
  virtual Tensor forward(const Tensor& ids) = 0;
  virtual int64_t num_layers() const = 0;
  // The residual stream [B, T, hidden] after block `layer` (0-based; layer == num_layers()
  // gives the final norm's output), for interpretability tools.
  virtual Tensor hidden_states(const Tensor& ids, int64_t layer) = 0;

  // Interpretability hook (SAE evaluation splices reconstructions in): logits [B, T, vocab] of
  // a forward pass in which the activation at (hook.layer, hook.site) is replaced by
  // hook.replace(activation). Sites: resid_pre (entering block `layer`), resid_post (leaving
  // it), mlp_out (the block's MLP output, before it is added to the residual). The default
  // throws BadInput: an architecture opts in by overriding it.
  struct ActivationHook {
    int64_t layer = 0;
    std::string site = "resid_post";
    std::function<Tensor(const Tensor&)> replace;
  };
  virtual Tensor forward_with_hook(const Tensor& ids, const ActivationHook& hook);

  virtual std::unique_ptr<DecodeState> new_state() const = 0;
  // Decoding: feeds ids [B, T] to B sequences, each with its own state (advanced by T); returns
  // the logits of the last position of each, [B, vocab]. Not recorded for autograd.
  virtual Tensor forward_step(const Tensor& ids, const std::vector<DecodeState*>& states) = 0;

  // Parameters under their upstream checkpoint names.
  virtual nn::ParameterRefs parameters() = 0;
  // Names present in checkpoints that need no tensor of their own (e.g. a tied lm_head).
  virtual std::vector<std::string> optional_checkpoint_names() const { return {}; }
  // Bytes of weights held in memory for inference (`generate --stats`). Parameters by
  // default; a model that keeps packed copies (ternary, int8) reports what it really holds.
  virtual int64_t resident_weight_bytes();
};

using ModelFactory = std::function<std::unique_ptr<CausalLM>(const nlohmann::json& config)>;

// Registers a factory for a model_type (each architecture does this once, at start-up).
void register_model_type(const std::string& model_type, ModelFactory factory);
std::vector<std::string> registered_model_types();
// Builds a randomly initialised model from a config.json object (seeded by the config's
// "initializer_range" and `seed`). Unknown model_type is a BadInput error listing the known.
std::unique_ptr<CausalLM> create_model(const nlohmann::json& config, uint64_t seed = 0);

// Loads a Hugging Face style folder: config.json + model.safetensors (or sharded with
// model.safetensors.index.json), or a llama-architecture .gguf file (models/gguf_model.h). Weights in bf16/f16 are converted to f32. Every parameter must
// be present with the expected shape; unexpected tensors are an error naming them.
std::unique_ptr<CausalLM> load_model(const std::string& dir);
// Writes config.json and model.safetensors (f32) into `dir` (created), atomically.
void save_model(CausalLM& model, const std::string& dir);

// Reads and parses a JSON file; BadInput naming the file on any problem.
nlohmann::json read_json_file(const std::string& path);
// Writes JSON atomically (pretty-printed).
void write_json_file(const std::string& path, const nlohmann::json& value);

}  // namespace tessera::models
