#include "tessera/models/checkpoint_layouts.h"

#include <vector>

namespace tessera::models {

namespace {
std::vector<LayoutLoader>& loaders() {
  static std::vector<LayoutLoader> all;
  return all;
}
}  // namespace

void register_builtin_models();  // models/registry_builtin.cpp

void register_layout_loader(LayoutLoader loader) {
  loaders().push_back(std::move(loader));
}

std::unique_ptr<CausalLM> load_alternative_layout(const std::string& dir) {
  register_builtin_models();
  for (const LayoutLoader& loader : loaders()) {
    if (auto model = loader(dir)) return model;
  }
  return nullptr;
}

}  // namespace tessera::models
