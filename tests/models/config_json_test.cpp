// config.json as Python's json module writes it: the bare words Infinity, -Infinity and NaN
// (not JSON) are read as the largest finite double and null, outside strings only; a
// transformers Mamba-2 config with time_step_limit [0.0, Infinity] reads as unbounded.
#include <gtest/gtest.h>

#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>

#include "tessera/models/causal_lm.h"
#include "tessera/models/mamba2.h"

namespace tessera::models {
namespace {

namespace fs = std::filesystem;

std::string write_temp(const std::string& name, const std::string& text) {
  fs::path path = fs::temp_directory_path() / ("tessera_" + std::to_string(::getpid()) + "_" + name);
  std::ofstream(path) << text;
  return path.string();
}

TEST(ConfigJson, PythonInfinityAndNanAreReadOutsideStrings) {
  std::string path = write_temp("python.json",
                                R"({"a": Infinity, "b": -Infinity, "c": NaN, "s": "Infinity, NaN \" Infinity", "n": [1, NaN]})");
  nlohmann::json j = read_json_file(path);
  EXPECT_EQ(j["a"].get<double>(), std::numeric_limits<double>::max());
  EXPECT_EQ(j["b"].get<double>(), -std::numeric_limits<double>::max());
  EXPECT_TRUE(j["c"].is_null());
  EXPECT_EQ(j["s"].get<std::string>(), "Infinity, NaN \" Infinity");
  EXPECT_TRUE(j["n"][1].is_null());
  fs::remove(path);
}

TEST(ConfigJson, MalformedJsonStillNamesTheFile) {
  std::string path = write_temp("broken.json", R"({"a": Infinit})");
  try {
    read_json_file(path);
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << e.what();
  }
  fs::remove(path);
}

TEST(ConfigJson, TransformersMamba2TimeStepLimitInfinityIsUnbounded) {
  std::string path = write_temp("mamba2.json", R"({"model_type": "mamba2", "vocab_size": 64, "hidden_size": 32,
    "num_hidden_layers": 1, "num_heads": 4, "head_dim": 16, "state_size": 8, "expand": 2,
    "n_groups": 1, "time_step_limit": [0.0, Infinity]})");
  Mamba2Config config = Mamba2Config::from_json(read_json_file(path));
  EXPECT_TRUE(std::isinf(config.mixer.time_step_limit_high));
  EXPECT_EQ(config.mixer.time_step_limit_low, 0.0);
  fs::remove(path);
}

}  // namespace
}  // namespace tessera::models
