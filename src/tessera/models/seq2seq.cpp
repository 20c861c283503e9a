// The encoder-decoder registry, loader and saver (models/seq2seq.h).
#include "tessera/models/seq2seq.h"

#include <algorithm>
#include <filesystem>
#include <map>
#include <mutex>
#include <optional>
#include <set>

#include "tessera/core/autograd.h"
#include "tessera/core/io/safetensors.h"
#include "tessera/core/io/safetensors_folder.h"
#include "tessera/core/io/torch_pickle.h"
#include "tessera/models/causal_lm.h"
#include "tessera/models/m2m100.h"
#include "tessera/nn/init_scope.h"

namespace tessera::models {

namespace fs = std::filesystem;

namespace {
std::map<std::string, Seq2SeqFactory>& seq2seq_registry() {
  static std::map<std::string, Seq2SeqFactory> factories;
  return factories;
}

void register_builtin_seq2seq() {
  static std::once_flag once;
  std::call_once(once, [] {
    auto m2m = [](const nlohmann::json& config, uint64_t seed) -> std::unique_ptr<Seq2SeqLM> {
      return std::make_unique<M2M100Model>(M2M100Config::from_json(config), seed);
    };
    // Hugging Face spells NLLB-MoE's type "nllb-moe"; "nllb_moe" is accepted as well.
    for (const char* type : {"m2m_100", "nllb-moe", "nllb_moe"}) seq2seq_registry()[type] = m2m;
  });
}
}  // namespace

void register_seq2seq_model_type(const std::string& model_type, Seq2SeqFactory factory) {
  register_builtin_seq2seq();
  seq2seq_registry()[model_type] = std::move(factory);
}

std::vector<std::string> registered_seq2seq_model_types() {
  register_builtin_seq2seq();
  std::vector<std::string> names;
  for (const auto& [name, factory] : seq2seq_registry()) names.push_back(name);
  return names;
}

bool is_seq2seq_config(const nlohmann::json& config) {
  register_builtin_seq2seq();
  return config.is_object() && config.contains("model_type") && config["model_type"].is_string() &&
         seq2seq_registry().count(config["model_type"].get<std::string>()) != 0;
}

bool is_seq2seq_folder(const std::string& dir) {
  fs::path config = fs::path(dir) / "config.json";
  if (!fs::is_regular_file(config)) return false;
  return is_seq2seq_config(read_json_file(config.string()));
}

std::unique_ptr<Seq2SeqLM> create_seq2seq_model(const nlohmann::json& config, uint64_t seed) {
  register_builtin_seq2seq();
  TESSERA_CHECK_INPUT(
      config.is_object() && config.contains("model_type") && config["model_type"].is_string(),
      "config.json: missing \"model_type\"");
  std::string type = config["model_type"];
  auto it = seq2seq_registry().find(type);
  if (it == seq2seq_registry().end()) {
    std::string known;
    for (const auto& name : registered_seq2seq_model_types())
      known += (known.empty() ? "" : ", ") + name;
    throw bad_input(
        "config.json: model_type \"{}\" is not an encoder-decoder Tessera knows (known: {})", type,
        known);
  }
  return it->second(config, seed);
}

std::unique_ptr<Seq2SeqLM> load_seq2seq_model(const std::string& dir) {
  nlohmann::json config = read_json_file((fs::path(dir) / "config.json").string());
  std::unique_ptr<Seq2SeqLM> model;
  try {
    nn::SkipParameterInit skip_init;  // every parameter is read from the checkpoint below
    model = create_seq2seq_model(config);
  } catch (const Error& e) {
    throw e.with_context(dir);
  }
  bool has_safetensors = false;
  for (const auto& entry : fs::directory_iterator(dir))
    if (entry.path().extension() == ".safetensors") has_safetensors = true;
  const fs::path bin = fs::path(dir) / "pytorch_model.bin";
  // Weights from model.safetensors (sharded or not), else from a torch.save state dict.
  std::optional<io::SafetensorsFolder> folder;
  std::map<std::string, Tensor> state;
  std::vector<std::string> names;
  if (has_safetensors || !fs::exists(bin)) {
    folder.emplace(io::SafetensorsFolder::open(dir));
    names = folder->names();
  } else {
    state = io::load_torch_state_dict(bin.string());
    for (const auto& [name, t] : state) names.push_back(name);
  }
  auto has = [&](const std::string& n) { return folder ? folder->has(n) : state.count(n) != 0; };
  auto shape_of = [&](const std::string& n) {
    return folder ? folder->info(n).shape : state.at(n).shape();
  };
  auto file_of = [&](const std::string& n) { return folder ? folder->file_of(n) : bin.string(); };
  std::set<std::string> used;
  NoGrad no_grad;
  for (auto& [name, slot] : model->parameters()) {
    std::string source = name;
    if (!has(source)) {
      for (const std::string& alias : model->aliases_of(name))
        if (has(alias)) {
          source = alias;
          break;
        }
    }
    TESSERA_CHECK_INPUT(has(source), "{}: tensor {} is missing from the checkpoint", dir, name);
    TESSERA_CHECK_INPUT(shape_of(source) == slot->shape(),
                        "{}: tensor {} has shape {}, but config.json implies {}", file_of(source),
                        source, shape_str(shape_of(source)), shape_str(slot->shape()));
    Tensor t = folder ? folder->get(source, slot->dtype())
                      : state.at(source).to(slot->dtype()).contiguous();
    *slot = t.set_name(name);
    used.insert(source);
  }
  std::vector<std::string> optional = model->optional_checkpoint_names();
  for (const std::string& name : names) {
    bool known =
        used.count(name) || std::find(optional.begin(), optional.end(), name) != optional.end();
    TESSERA_CHECK_INPUT(known, "{}: unexpected tensor {} for model_type {}", file_of(name), name,
                        model->model_type());
  }
  return model;
}

void save_seq2seq_model(Seq2SeqLM& model, const std::string& dir) {
  TESSERA_CHECK_INPUT(!model.quantized(),
                      "{}: an int8-quantized model is not saved (it would lose precision)", dir);
  fs::create_directories(dir);
  io::NamedTensors tensors;
  for (auto& [name, slot] : model.parameters())
    tensors.emplace_back(name, slot->detach().to(DType::f32));
  io::save_safetensors((fs::path(dir) / "model.safetensors").string(), tensors, {{"format", "pt"}});
  write_json_file((fs::path(dir) / "config.json").string(), model.config_json());
}

int64_t Seq2SeqLM::resident_weight_bytes() {
  int64_t bytes = 0;
  for (auto& [name, tensor] : parameters()) bytes += static_cast<int64_t>(tensor->nbytes());
  return bytes;
}

}  // namespace tessera::models
