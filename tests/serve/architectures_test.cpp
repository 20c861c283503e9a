// `serve` for every architecture in the model registry (llama, Mamba-2, HGRN-Bit, ...): each
// one's smallest preset, saved with save_model and loaded back by the server, answers a chat
// completion, a streamed completion and an embedding. The server only needs what CausalLM
// offers (forward_step over per-sequence states, hidden_states).
#include <gtest/gtest.h>
#include <httplib.h>
#include <unistd.h>

#include <algorithm>
#include <fstream>

#include "tessera/core/parallel.h"
#include "tessera/models/presets.h"
#include "tessera/serve/server.h"
#include "test_model.h"

namespace tessera::serve {
namespace {

using nlohmann::json;

TEST(ServeArchitectures, EveryRegisteredArchitectureServes) {
  set_num_threads(1);
  int served = 0;
  for (const std::string& type : models::registered_model_types()) {
    SCOPED_TRACE(type);
    auto presets = models::preset_names(type);
    if (presets.empty()) continue;
    // The smallest preset the architecture has ("tiny" where it exists).
    std::string preset = std::find(presets.begin(), presets.end(), "tiny") != presets.end() ? "tiny" : presets.front();
    json config = models::preset_config(type, preset);
    config["vocab_size"] = 259;
    config["max_position_embeddings"] = 256;
    const std::string dir = ::testing::TempDir() + "/tessera_arch_" + type + "_" + std::to_string(::getpid());
    auto model = models::create_model(config, 3);
    models::save_model(*model, dir);
    std::ofstream(dir + "/tokenizer.json") << testing::byte_tokenizer_json().dump();
    ServerOptions options;
    options.port = 0;
    options.chat_template = "chatml";
    auto server = Server::from_folder(dir, options);
    server->start();
    httplib::Client client("127.0.0.1", server->port());
    client.set_read_timeout(60, 0);
    json chat = {{"messages", {{{"role", "user"}, {"content", "hi"}}}}, {"max_tokens", 6}, {"temperature", 0}, {"n", 2}};
    auto res = client.Post("/v1/chat/completions", chat.dump(), "application/json");
    ASSERT_TRUE(res);
    ASSERT_EQ(res->status, 200) << res->body;
    json reply = json::parse(res->body);
    EXPECT_EQ(reply["choices"].size(), 2u);
    // Greedy: both choices, decoded side by side in one batch, agree.
    EXPECT_EQ(reply["choices"][0]["message"], reply["choices"][1]["message"]);
    json stream = {{"prompt", "abc"}, {"max_tokens", 5}, {"stream", true}, {"temperature", 0}};
    res = client.Post("/v1/completions", stream.dump(), "application/json");
    ASSERT_TRUE(res);
    EXPECT_NE(res->body.find("data: [DONE]"), std::string::npos);
    res = client.Post("/v1/embeddings", R"({"input":"hello"})", "application/json");
    ASSERT_TRUE(res);
    ASSERT_EQ(res->status, 200) << res->body;
    EXPECT_FALSE(json::parse(res->body)["data"][0]["embedding"].empty());
    server->shutdown();
    ++served;
  }
  EXPECT_GE(served, 2);
}

}  // namespace
}  // namespace tessera::serve
