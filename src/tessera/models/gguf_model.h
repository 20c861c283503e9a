#pragma once
// Loading llama-architecture GGUF files (llama.cpp's format) as Tessera models: metadata
// becomes a LlamaConfig, tensors are renamed to the Hugging Face names, q/k rows are put back
// in Hugging Face's rotary order, and quantised tensors are dequantised to f32.
#include <memory>
#include <string>

#include "tessera/models/causal_lm.h"

namespace tessera::models {

std::unique_ptr<CausalLM> load_gguf_model(const std::string& path);

}  // namespace tessera::models
