// serve::Client against Tessera's own server: the two halves of the OpenAI protocol this
// project implements, checked against each other over loopback.
#include <gtest/gtest.h>
#include <unistd.h>

#include "schema_validator.h"
#include "tessera/core/parallel.h"
#include "tessera/serve/openai_client.h"
#include "tessera/serve/server.h"
#include "test_model.h"

namespace tessera::serve {
namespace {

using nlohmann::json;

class ClientServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    set_num_threads(1);
    std::string dir = testing::write_tiny_model(::testing::TempDir() + "/tessera_client_" +
                                                std::to_string(::getpid()));
    ServerOptions options;
    options.port = 0;
    options.model_name = "tiny";
    options.api_key = "sk-local";
    server_ = Server::from_folder(dir, options);
    server_->start();
    ClientOptions client_options{server_->base_url(), "sk-local", 5, 30};
    client_options.model = "tiny";
    client_ = std::make_unique<Client>(client_options);
  }
  void TearDown() override {
    client_.reset();  // closes its keep-alive connection, so shutdown need not wait it out
    server_->shutdown();
  }

  ChatRequest request(int max_tokens) {
    ChatRequest r;
    r.messages = {{"system", "You answer."}, {"user", "What is 2+2?"}};
    r.max_tokens = max_tokens;
    r.temperature = 0.9;
    r.seed = 17;
    return r;
  }

  std::unique_ptr<Server> server_;
  std::unique_ptr<Client> client_;
};

TEST_F(ClientServerTest, ChatStreamAndUsageAgree) {
  ChatResponse whole = client_->chat(request(16));
  EXPECT_EQ(whole.model, "tiny");
  std::string streamed;
  ChatResponse stream = client_->chat_stream(request(16), [&](size_t, std::string_view delta) {
    streamed += delta;
    return true;
  });
  EXPECT_EQ(streamed, whole.content);
  EXPECT_EQ(stream.content, whole.content);
  EXPECT_EQ(stream.finish_reason, whole.finish_reason);
  EXPECT_EQ(stream.prompt_tokens, whole.prompt_tokens);
  EXPECT_EQ(stream.completion_tokens, whole.completion_tokens);
  UsageTotals usage = client_->usage();
  EXPECT_EQ(usage.calls, 2);
  EXPECT_EQ(usage.prompt_tokens, 2 * whole.prompt_tokens);
  EXPECT_EQ(usage.completion_tokens, 2 * whole.completion_tokens);
  EXPECT_EQ(client_->models(), std::vector<std::string>{"tiny"});
}

TEST_F(ClientServerTest, JsonSchemaNSamplesAndLogprobs) {
  json schema = json::parse(R"({"type":"object","properties":{"answer":{"type":"integer"},
      "why":{"type":"string","maxLength":6}},"required":["answer","why"],"additionalProperties":false})");
  ChatRequest r = request(60);
  r.response_format = json_schema_format("arithmetic", schema);
  r.n = 3;
  r.logprobs = true;
  r.top_logprobs = 2;
  ChatResponse response = client_->chat(r);
  ASSERT_EQ(response.choices.size(), 3u);
  for (const ChatChoice& choice : response.choices) {
    json parsed = json::parse(choice.content, nullptr, false);
    ASSERT_FALSE(parsed.is_discarded()) << choice.content;
    EXPECT_EQ(testing::schema_violation(parsed, schema), "") << choice.content;
    ASSERT_FALSE(choice.logprobs.empty());
    EXPECT_EQ(choice.logprobs[0].top.size(), 2u);
  }
  auto vectors = client_->embeddings({"alpha", "beta"});
  ASSERT_EQ(vectors.size(), 2u);
  EXPECT_EQ(vectors[0].size(), 32u);
}

TEST_F(ClientServerTest, WrongKeyIsAnErrorWithoutRetries) {
  auto stranger = std::make_unique<Client>(ClientOptions{server_->base_url(), "sk-wrong", 5, 5});
  try {
    stranger->chat(request(2));
    FAIL() << "expected a 401";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("HTTP 401"), std::string::npos) << e.what();
  }
  EXPECT_EQ(stranger->usage().retries, 0);
  stranger.reset();
}

}  // namespace
}  // namespace tessera::serve
