#pragma once
// What an encoder-decoder translation model offers the layers above (beam search, training,
// the translate command), whatever its feed-forward kind (dense M2M-100 / NLLB-200, or the
// sparsely gated NLLB-MoE). It is not a CausalLM: the source is encoded once, then the decoder
// steps with a self-attention cache and a cached cross-attention memory per sequence.
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "tessera/core/tensor.h"
#include "tessera/nn/layers.h"

namespace tessera::models {

struct Seq2SeqOutput {
  Tensor logits;    // [B, T, vocab]
  Tensor aux_loss;  // scalar: mean of the MoE layers' load-balancing losses; undefined when dense
  Tensor z_loss;    // scalar: mean of the MoE layers' router z-losses; undefined when dense
};

// One sequence's decoding state: its encoder memory (shared between beams) and its own
// decoder self-attention cache.
class Seq2SeqState {
 public:
  virtual ~Seq2SeqState() = default;
  virtual int64_t length() const = 0;         // decoder tokens consumed so far
  virtual int64_t source_length() const = 0;  // encoder tokens (pads excluded)
  // An independent copy (beam search forks hypotheses); the encoder memory stays shared.
  virtual std::unique_ptr<Seq2SeqState> clone() const = 0;
};

class Seq2SeqLM {
 public:
  virtual ~Seq2SeqLM() = default;
  virtual std::string model_type() const = 0;
  virtual int64_t vocab_size() const = 0;
  virtual int64_t max_positions() const = 0;
  virtual nlohmann::json config_json() const = 0;
  virtual int64_t pad_token_id() const = 0;
  virtual int64_t eos_token_id() const = 0;
  virtual int64_t decoder_start_token_id() const = 0;

  // Training mode turns on dropout, MoE capacity limits and expert output masking.
  virtual void set_training(bool on, uint64_t seed = 0) = 0;
  virtual bool training() const = 0;

  // Teacher-forced pass: src ids [B, S] and decoder input ids [B, T], both right-padded with
  // pad_token_id -> logits [B, T, vocab]. Recorded for autograd when parameters require grad.
  virtual Seq2SeqOutput forward(const Tensor& src_ids, const Tensor& decoder_ids) = 0;
  // Runs the encoder over src ids [B, S] (right-padded) once; one fresh state per sequence.
  virtual std::vector<std::unique_ptr<Seq2SeqState>> encode(const Tensor& src_ids) = 0;
  // Feeds one decoder token per sequence (ids [B, 1]) and returns next-token logits [B, vocab].
  // Not recorded for autograd.
  virtual Tensor decode_step(const Tensor& ids, const std::vector<Seq2SeqState*>& states) = 0;

  // Parameters under their upstream checkpoint names.
  virtual nn::ParameterRefs parameters() = 0;
  // Checkpoint names that need no tensor of their own (tied copies of the shared embedding,
  // precomputed position tables).
  virtual std::vector<std::string> optional_checkpoint_names() const { return {}; }
  // For a parameter that a checkpoint may store under another (tied) name: the aliases.
  virtual std::vector<std::string> aliases_of(const std::string& name) const {
    (void)name;
    return {};
  }
  // Bytes of weights held for inference (int8-quantized models report their packed size).
  virtual int64_t resident_weight_bytes();
  // Inference only: replaces the f32 projection weights by int8 rows with per-row scales
  // (tied embeddings read the int8 output rows; norms, biases and MoE routers stay f32). The
  // model can no longer train or save.
  virtual void quantize_int8() {
    throw bad_input("{}: int8 quantization is not supported", model_type());
  }
  virtual bool quantized() const { return false; }
};

using Seq2SeqFactory =
    std::function<std::unique_ptr<Seq2SeqLM>(const nlohmann::json& config, uint64_t seed)>;

void register_seq2seq_model_type(const std::string& model_type, Seq2SeqFactory factory);
std::vector<std::string> registered_seq2seq_model_types();
// True when config.json's model_type names an encoder-decoder that Tessera knows.
bool is_seq2seq_config(const nlohmann::json& config);
bool is_seq2seq_folder(const std::string& dir);
std::unique_ptr<Seq2SeqLM> create_seq2seq_model(const nlohmann::json& config, uint64_t seed = 0);
// config.json + model.safetensors (sharded or not) or pytorch_model.bin (torch.save state dict).
// Tied embeddings may be stored under any of their upstream names. Every parameter must be present
// with its shape.
std::unique_ptr<Seq2SeqLM> load_seq2seq_model(const std::string& dir);
// Writes config.json and model.safetensors (f32) atomically; tied copies are not duplicated.
void save_seq2seq_model(Seq2SeqLM& model, const std::string& dir);

}  // namespace tessera::models
