#include "tessera/train/recipe.h"

#include <filesystem>

#include "tessera/models/presets.h"

namespace tessera::train {

namespace fs = std::filesystem;

RecipeResult run_recipe(const TrainRecipe& recipe) {
  RecipeResult result;
  result.train_folder = find_split_folder(recipe.data_dir, "train");
  try {
    result.valid_folder = find_split_folder(recipe.data_dir, "valid");
  } catch (const Error&) {
    result.valid_folder.clear();  // training without a held-out split is allowed
  }
  TokenDataset train_data = TokenDataset::open(result.train_folder);
  const TrainOptions& options = recipe.options;
  std::unique_ptr<models::CausalLM> model;
  if (options.resume) {
    TESSERA_CHECK_INPUT(fs::exists(fs::path(options.out_dir) / "trainer_state.json"),
                        "{}: nothing to resume (no trainer_state.json)", options.out_dir);
    model = load_for_training(options.out_dir);
  } else {
    nlohmann::json config = models::preset_config(recipe.model_type, recipe.preset);
    if (!recipe.config_path.empty()) {
      const nlohmann::json overrides = models::read_json_file(recipe.config_path);
      TESSERA_CHECK_INPUT(overrides.is_object(), "{}: expected a JSON object", recipe.config_path);
      for (const auto& [key, value] : overrides.items()) config[key] = value;
    }
    config["vocab_size"] = train_data.vocab_size();
    if (!config.contains("max_position_embeddings"))
      config["max_position_embeddings"] = std::max<int64_t>(1024, options.seq_len);
    if (train_data.index().eos_token_id) config["eos_token_id"] = *train_data.index().eos_token_id;
    model = models::create_model(config, options.seed);
  }
  for (auto& [name, t] : model->parameters()) result.parameters += t->numel();
  fs::create_directories(options.out_dir);
  // The index records the tokenizer path as given when the data was built; a relative one is
  // relative to the split's folder (data corpus writes "../tokenizer.json").
  fs::path tokenizer = train_data.index().tokenizer.path;
  if (!tokenizer.empty() && tokenizer.is_relative()) tokenizer = fs::path(result.train_folder) / tokenizer;
  if (!tokenizer.empty() && fs::is_regular_file(tokenizer)) {
    for (const fs::path& file : {tokenizer, tokenizer.parent_path() / "tokenizer_config.json"}) {
      fs::path target = fs::path(options.out_dir) / file.filename();
      if (fs::is_regular_file(file) && !fs::exists(target)) fs::copy_file(file, target);
    }
  }
  result.summary = train(*model, result.train_folder, result.valid_folder, options);
  return result;
}

}  // namespace tessera::train
