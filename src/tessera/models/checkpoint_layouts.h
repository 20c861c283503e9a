#pragma once
// Checkpoint folders in layouts other than config.json-with-model_type + model.safetensors, such
// as the original state-spaces/mamba2-* release (config.json with d_model/n_layer/ssm_cfg and a
// pytorch_model.bin). Each architecture that has one registers a loader; load_model tries them
// before the default layout.
#include <functional>
#include <memory>
#include <string>

#include "tessera/models/causal_lm.h"

namespace tessera::models {

// Returns the model when `dir` is in its layout, nullptr when it is not (so the next loader or
// the default layout is tried); throws BadInput when it is its layout but the files are wrong.
using LayoutLoader = std::function<std::unique_ptr<CausalLM>(const std::string& dir)>;

void register_layout_loader(LayoutLoader loader);
// The first registered loader that recognises `dir`, or nullptr.
std::unique_ptr<CausalLM> load_alternative_layout(const std::string& dir);

}  // namespace tessera::models
