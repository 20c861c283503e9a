#include "tessera/models/causal_lm.h"

#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "tessera/core/autograd.h"
#include "tessera/core/io/atomic_file.h"
#include "tessera/core/io/safetensors.h"
#include "tessera/core/io/safetensors_folder.h"
#include "tessera/models/checkpoint_layouts.h"
#include "tessera/models/gguf_model.h"
#include "tessera/nn/init_scope.h"

namespace tessera::models {

namespace fs = std::filesystem;

namespace {
std::map<std::string, ModelFactory>& registry() {
  static std::map<std::string, ModelFactory> factories;
  return factories;
}
}  // namespace

void register_model_type(const std::string& model_type, ModelFactory factory) {
  registry()[model_type] = std::move(factory);
}

void register_builtin_models();  // models/registry_builtin.cpp

std::vector<std::string> registered_model_types() {
  register_builtin_models();
  std::vector<std::string> names;
  for (const auto& [name, factory] : registry()) names.push_back(name);
  return names;
}

std::unique_ptr<CausalLM> create_model(const nlohmann::json& config, uint64_t seed) {
  register_builtin_models();
  TESSERA_CHECK_INPUT(config.is_object() && config.contains("model_type") &&
                          config["model_type"].is_string(),
                      "config.json: missing \"model_type\"");
  std::string type = config["model_type"];
  auto it = registry().find(type);
  if (it == registry().end()) {
    std::string known;
    for (const auto& name : registered_model_types()) known += (known.empty() ? "" : ", ") + name;
    throw bad_input("config.json: model_type \"{}\" is not supported (known: {})", type, known);
  }
  nlohmann::json with_seed = config;
  with_seed["__seed"] = seed;
  return it->second(with_seed);
}

namespace {
// Python's json module writes float("inf") and float("nan") as the bare words Infinity, -Infinity
// and NaN, which are not JSON; transformers' config.json files contain them (Mamba-2's
// time_step_limit defaults to [0.0, Infinity]). Outside strings, they become the largest
// finite double (its sign kept) and null, which the config readers treat as unbounded / absent.
std::string python_json_to_standard(const std::string& text) {
  std::string out;
  out.reserve(text.size());
  bool in_string = false;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    if (in_string) {
      out += c;
      if (c == '\\' && i + 1 < text.size()) {
        out += text[++i];
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    if (c == '"') {
      in_string = true;
    } else if (text.compare(i, 8, "Infinity") == 0) {
      out += "1.7976931348623157e308";
      i += 7;
      continue;
    } else if (text.compare(i, 3, "NaN") == 0) {
      out += "null";
      i += 2;
      continue;
    }
    out += c;
  }
  return out;
}
}  // namespace

nlohmann::json read_json_file(const std::string& path) {
  std::ifstream in(path);
  TESSERA_CHECK_INPUT(in.good(), "{}: cannot open", path);
  std::stringstream buffer;
  buffer << in.rdbuf();
  try {
    return nlohmann::json::parse(python_json_to_standard(buffer.str()));
  } catch (const nlohmann::json::exception& e) {
    throw bad_input("{}: invalid JSON: {}", path, e.what());
  }
}

void write_json_file(const std::string& path, const nlohmann::json& value) {
  io::AtomicFileWriter writer(path);
  writer.write(value.dump(2) + "\n");
  writer.commit();
}

std::unique_ptr<CausalLM> load_model(const std::string& dir) {
  if (fs::is_regular_file(dir) && fs::path(dir).extension() == ".gguf") return load_gguf_model(dir);
  if (auto model = load_alternative_layout(dir)) return model;  // e.g. original Mamba-2 releases
  nlohmann::json config = read_json_file((fs::path(dir) / "config.json").string());
  std::unique_ptr<CausalLM> model;
  try {
    nn::SkipParameterInit skip_init;  // every parameter is read from the checkpoint below
    model = create_model(config);
  } catch (const Error& e) {
    throw e.with_context(dir);
  } catch (const nlohmann::json::exception& e) {
    throw bad_input("{}/config.json: {}", dir, e.what());
  }
  io::SafetensorsFolder weights = io::SafetensorsFolder::open(dir);
  nn::ParameterRefs params = model->parameters();
  std::set<std::string> expected;
  NoGrad no_grad;
  for (auto& [name, slot] : params) {
    expected.insert(name);
    TESSERA_CHECK_INPUT(weights.has(name), "{}: tensor {} is missing from the checkpoint", dir, name);
    const io::TensorInfo& info = weights.info(name);
    TESSERA_CHECK_INPUT(info.shape == slot->shape(),
                        "{}: tensor {} has shape {}, but config.json implies {}",
                        weights.file_of(name), name, shape_str(info.shape), shape_str(slot->shape()));
    Tensor t = weights.get(name, slot->dtype());
    *slot = t.set_name(name);
  }
  std::vector<std::string> optional = model->optional_checkpoint_names();
  for (const std::string& name : weights.names()) {
    bool known = expected.count(name) ||
                 std::find(optional.begin(), optional.end(), name) != optional.end();
    TESSERA_CHECK_INPUT(known, "{}: unexpected tensor {} for model_type {}", weights.file_of(name),
                        name, model->model_type());
  }
  return model;
}

void save_model(CausalLM& model, const std::string& dir) {
  fs::create_directories(dir);
  io::NamedTensors tensors;
  for (auto& [name, slot] : model.parameters()) tensors.emplace_back(name, slot->detach());
  io::save_safetensors((fs::path(dir) / "model.safetensors").string(), tensors,
                       {{"format", "pt"}});
  write_json_file((fs::path(dir) / "config.json").string(), model.config_json());
}

Tensor CausalLM::forward_with_hook(const Tensor&, const ActivationHook& hook) {
  throw bad_input("model_type '{}' does not support activation hooks (site {} at layer {})", model_type(),
                  hook.site, hook.layer);
}

int64_t CausalLM::resident_weight_bytes() {
  int64_t bytes = 0;
  for (auto& [name, tensor] : parameters()) bytes += static_cast<int64_t>(tensor->nbytes());
  return bytes;
}

}  // namespace tessera::models
