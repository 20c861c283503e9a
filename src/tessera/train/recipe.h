#pragma once
// What `tessera train` and `tessera quickstart` do around the loop: build the config (preset
// or file, sized to the dataset's vocabulary), create or resume the model, place the
// dataset's tokenizer next to the checkpoint so the folder is self-contained, and train.
#include <string>

#include "tessera/train/trainer.h"

namespace tessera::train {

struct TrainRecipe {
  std::string model_type = "llama";
  std::string preset = "tiny";
  std::string config_path;  // a config.json overriding the preset's keys
  std::string data_dir;     // holds train/ and valid/ splits (or is itself a train split)
  TrainOptions options;
};

struct RecipeResult {
  TrainSummary summary;
  std::string train_folder, valid_folder;
  int64_t parameters = 0;
};

RecipeResult run_recipe(const TrainRecipe& recipe);

}  // namespace tessera::train
