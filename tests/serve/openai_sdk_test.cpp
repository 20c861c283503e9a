// The official `openai` npm SDK as the client of a Tessera server started here: chat,
// streaming, json_schema, completions, embeddings and errors, as real users would call them.
// Skipped only when the SDK is not installed (scripts/setup_npm.sh puts it in build/npm).
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>

#include "tessera/core/parallel.h"
#include "tessera/serve/server.h"
#include "test_model.h"

namespace tessera::serve {
namespace {

TEST(OpenAISdk, OfficialClientWorksAgainstTheServer) {
  const std::string root = TESSERA_SOURCE_DIR;
  if (!std::filesystem::exists(root + "/build/npm/node_modules/openai/package.json")) {
    GTEST_SKIP() << "the openai npm package is not installed (run scripts/setup_npm.sh)";
  }
  ASSERT_EQ(std::system("node --version > /dev/null 2>&1"), 0) << "node is missing";
  set_num_threads(1);
  std::string dir = testing::write_tiny_model(::testing::TempDir() + "/tessera_sdk_" +
                                              std::to_string(::getpid()));
  ServerOptions options;
  options.port = 0;
  options.model_name = "tiny";
  options.api_key = "sk-sdk-test";
  auto server = Server::from_folder(dir, options);
  server->start();
  std::string command = "node '" + root + "/tests/serve/openai_sdk.cjs' '" + server->base_url() +
                        "' sk-sdk-test tiny '" + root + "'";
  int status = std::system(command.c_str());
  server->shutdown();
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0) << "see the node output above";
}

}  // namespace
}  // namespace tessera::serve
