#pragma once
// Writing a Tessera Llama model as a llama-architecture GGUF file the way llama.cpp's
// convert_hf_to_gguf.py lays it out (GGUF tensor names, q/k rows permuted so that each head's
// rotary pairs are adjacent, llama.* hyper-parameter keys), so llama.cpp runs the same
// weights: the side-by-side benchmarks need exactly that.
#include <optional>
#include <string>

#include "tessera/core/io/gguf_types.h"
#include "tessera/models/causal_lm.h"

namespace tessera::models {

struct GgufExportOptions {
  // Storage of the 2-D weight matrices (F32 when unset; F16, BF16, Q8_0 and Q4_0 also work).
  // Norm weights stay F32, as llama.cpp's converter keeps them.
  std::optional<io::GgmlType> matrix_type;
  // The file carries no vocabulary arrays (tokenizer.ggml.model = "none", plus
  // llama.vocab_size): enough for llama.cpp's llama-bench and for Tessera, not for
  // llama.cpp's text front ends.
};

// BadInput unless `model` is a Llama model without llama3-style rope scaling (llama.cpp keeps
// that as a rope_freqs tensor, which this writer does not produce).
void save_llama_gguf(CausalLM& model, const std::string& path, const GgufExportOptions& options = {});

// convert_hf_to_gguf.py's row order: GGUF row h*hd + 2j + t holds HF row h*hd + t*hd/2 + j.
// The inverse of io::llama_unpermute_qk.
Tensor llama_permute_qk(const Tensor& weight, int64_t heads);

// The GGUF name of a LlamaForCausalLM parameter ("model.layers.3.self_attn.q_proj.weight" ->
// "blk.3.attn_q.weight"); the inverse of io::llama_hf_tensor_name.
std::string llama_gguf_tensor_name(const std::string& hf_name);

}  // namespace tessera::models
