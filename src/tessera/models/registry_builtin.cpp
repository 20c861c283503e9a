// The architectures built into Tessera register here, once.
#include <mutex>

#include "tessera/models/llama.h"

namespace tessera::models {

void register_builtin_models() {
  static std::once_flag once;
  std::call_once(once, [] {
    register_model_type("llama", [](const nlohmann::json& config) -> std::unique_ptr<CausalLM> {
      uint64_t seed = config.value("__seed", uint64_t{0});
      return std::make_unique<LlamaModel>(LlamaConfig::from_json(config), seed);
    });
  });
}

}  // namespace tessera::models
