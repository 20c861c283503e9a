// `tessera convert`: reads any model folder load_model understands (transformers layout, the
// original state-spaces Mamba-2 layout with pytorch_model.bin, GGUF) and writes it as a
// transformers-style folder: config.json with model_type + model.safetensors (f32), plus the
// tokenizer files found next to the input.
#include <filesystem>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "cli/commands.h"
#include "tessera/core/autograd.h"
#include "tessera/core/error.h"
#include "tessera/models/causal_lm.h"

namespace tessera::cli {

namespace fs = std::filesystem;

void add_convert_commands(CLI::App& app) {
  auto* cmd = app.add_subcommand("convert",
                                 "Write a model (transformers or original Mamba-2 layout, "
                                 "pytorch_model.bin, GGUF) as config.json + "
                                 "model.safetensors");
  struct Options {
    std::string model, out;
    bool json = false;
  };
  auto o = std::make_shared<Options>();
  cmd->add_option("--model", o->model, "model folder (or .gguf file) to read")->required();
  cmd->add_option("--out", o->out, "output folder (created)")->required();
  cmd->add_flag("--json", o->json, "machine-readable output");
  cmd->callback([o] {
    NoGrad no_grad;
    TESSERA_CHECK_INPUT(fs::weakly_canonical(o->model) != fs::weakly_canonical(o->out),
                        "convert: --out {} is the input folder; choose another", o->out);
    auto model = models::load_model(o->model);
    models::save_model(*model, o->out);
    std::vector<std::string> copied;
    if (fs::is_directory(o->model)) {
      for (const char* name : {"tokenizer.json", "tokenizer.model", "tokenizer_config.json",
                               "special_tokens_map.json", "generation_config.json"}) {
        const fs::path from = fs::path(o->model) / name;
        if (fs::is_regular_file(from)) {
          fs::copy_file(from, fs::path(o->out) / name, fs::copy_options::overwrite_existing);
          copied.push_back(name);
        }
      }
    }
    int64_t params = 0;
    for (auto& [name, t] : model->parameters()) params += t->numel();
    if (o->json) {
      std::puts(nlohmann::json({{"model_type", model->model_type()},
                                {"parameters", params},
                                {"out", o->out},
                                {"copied", copied}})
                    .dump(2)
                    .c_str());
      return;
    }
    fmt::print("wrote {} ({:.2f}M parameters) to {}/model.safetensors", model->model_type(),
               params / 1e6, o->out);
    for (const auto& name : copied) fmt::print(", {}", name);
    fmt::print("\n");
  });
}

}  // namespace tessera::cli
