// The OpenAI-compatible server, started for real on a free loopback port with a small random
// model, and spoken to over HTTP.
#include "tessera/serve/server.h"

#include <gtest/gtest.h>
#include <httplib.h>
#include <unistd.h>

#include <atomic>
#include <cmath>
#include <cstring>
#include <thread>

#include "schema_validator.h"
#include "tessera/core/parallel.h"
#include "test_model.h"

namespace tessera::serve {
namespace {

using nlohmann::json;

std::string temp_model_dir() {
  static std::string dir = testing::write_tiny_model(::testing::TempDir() + "/tessera_serve_" +
                                                     std::to_string(::getpid()));
  return dir;
}

// A wider model for the tests that need generation to take a while (disconnects).
std::string slower_model_dir() {
  static std::string dir = testing::write_tiny_model(
      ::testing::TempDir() + "/tessera_serve_wide_" + std::to_string(::getpid()), 3, 256, 4);
  return dir;
}

class ServerTest : public ::testing::Test {
 protected:
  void start(ServerOptions options = {}, const std::string& model_dir = temp_model_dir()) {
    // A model this small gains nothing from threads, and OpenMP's barriers stall when the
    // machine is shared with other test processes.
    set_num_threads(1);
    options.port = 0;
    options.model_name = "tiny";
    server_ = Server::from_folder(model_dir, options);
    server_->start();
    client_ = std::make_unique<httplib::Client>("127.0.0.1", server_->port());
    client_->set_read_timeout(30, 0);
    if (!options.api_key.empty()) client_->set_bearer_token_auth(options.api_key.c_str());
  }
  void TearDown() override {
    if (server_) server_->shutdown();
  }
  json post(const std::string& path, const json& body, int expected_status = 200) {
    auto res = client_->Post(path.c_str(), body.dump(), "application/json");
    EXPECT_TRUE(res) << "no answer from " << path;
    if (!res) return {};
    EXPECT_EQ(res->status, expected_status) << res->body;
    return json::parse(res->body);
  }
  // The data payloads of an SSE stream, in order ("[DONE]" included).
  std::vector<std::string> stream_events(const std::string& path, const json& body) {
    auto res = client_->Post(path.c_str(), body.dump(), "application/json");
    EXPECT_TRUE(res);
    if (!res) return {};
    EXPECT_EQ(res->status, 200) << res->body;
    EXPECT_EQ(res->get_header_value("Content-Type"), "text/event-stream");
    std::vector<std::string> events;
    size_t at = 0;
    const std::string& text = res->body;
    while (at < text.size()) {
      size_t end = text.find("\n\n", at);
      EXPECT_NE(end, std::string::npos) << "an event without its blank line";
      if (end == std::string::npos) break;
      std::string event = text.substr(at, end - at);
      EXPECT_EQ(event.rfind("data: ", 0), 0u) << event;
      events.push_back(event.substr(6));
      at = end + 2;
    }
    return events;
  }
  bool healthy() {
    auto res = client_->Get("/health");
    return res && res->status == 200;
  }

  std::unique_ptr<Server> server_;
  std::unique_ptr<httplib::Client> client_;
};

json chat_body(const std::string& user, int max_tokens = 12) {
  return {{"model", "tiny"},
          {"messages",
           {{{"role", "system"}, {"content", "Be brief."}}, {{"role", "user"}, {"content", user}}}},
          {"max_tokens", max_tokens},
          {"temperature", 0}};
}

TEST_F(ServerTest, HealthAndModels) {
  start();
  auto health = client_->Get("/health");
  ASSERT_TRUE(health);
  EXPECT_EQ(json::parse(health->body)["status"], "ok");
  auto models = client_->Get("/v1/models");
  ASSERT_TRUE(models);
  json list = json::parse(models->body);
  EXPECT_EQ(list["object"], "list");
  EXPECT_EQ(list["data"][0]["id"], "tiny");
  EXPECT_EQ(client_->Get("/v1/models/tiny")->status, 200);
  auto missing = client_->Get("/v1/models/other");
  EXPECT_EQ(missing->status, 404);
  EXPECT_EQ(json::parse(missing->body)["error"]["code"], "model_not_found");
  auto unknown = client_->Get("/nowhere");
  EXPECT_EQ(unknown->status, 404);
  EXPECT_TRUE(json::parse(unknown->body)["error"].contains("message"));
}

TEST_F(ServerTest, ChatCompletionHasOpenAIShapeAndUsage) {
  start();
  json reply = post("/v1/chat/completions", chat_body("Hello"));
  EXPECT_EQ(reply["object"], "chat.completion");
  EXPECT_EQ(reply["model"], "tiny");
  ASSERT_EQ(reply["choices"].size(), 1u);
  const json& choice = reply["choices"][0];
  EXPECT_EQ(choice["message"]["role"], "assistant");
  EXPECT_TRUE(choice["message"]["content"].is_string());
  EXPECT_TRUE(choice["finish_reason"] == "stop" || choice["finish_reason"] == "length");
  const json& usage = reply["usage"];
  // The ChatML prompt: special markers are one token each, the rest bytes.
  std::string prompt =
      "<|im_start|>system\nBe "
      "brief.<|im_end|>\n<|im_start|>user\nHello<|im_end|>\n<|im_start|>assistant\n";
  EXPECT_EQ(usage["prompt_tokens"], static_cast<int64_t>(prompt.size()) - 3 * 12 - 2 * 10 + 5);
  EXPECT_GE(usage["completion_tokens"].get<int>(), 1);
  EXPECT_LE(usage["completion_tokens"].get<int>(), 12);
  EXPECT_EQ(usage["total_tokens"],
            usage["prompt_tokens"].get<int>() + usage["completion_tokens"].get<int>());
  if (choice["finish_reason"] == "length") {
    EXPECT_EQ(usage["completion_tokens"], 12);
  }
}

TEST_F(ServerTest, CompletionsEchoBatchAndN) {
  start();
  json reply = post("/v1/completions", {{"prompt", {"abc", "xyz"}},
                                        {"max_tokens", 5},
                                        {"n", 2},
                                        {"echo", true},
                                        {"temperature", 0.9},
                                        {"seed", 1}});
  EXPECT_EQ(reply["object"], "text_completion");
  ASSERT_EQ(reply["choices"].size(), 4u);
  for (int i = 0; i < 4; ++i) {
    const json& c = reply["choices"][i];
    EXPECT_EQ(c["index"], i);
    EXPECT_EQ(c["text"].get<std::string>().substr(0, 3), i < 2 ? "abc" : "xyz");
  }
  EXPECT_EQ(reply["usage"]["prompt_tokens"], 6);
  json ids = post("/v1/completions", {{"prompt", {97, 98}}, {"max_tokens", 3}});
  EXPECT_EQ(ids["usage"]["prompt_tokens"], 2);
}

TEST_F(ServerTest, SeedReproducesAndSamplingVaries) {
  start();
  json body = chat_body("Tell me something", 24);
  body["temperature"] = 1.0;
  body["seed"] = 1234;
  std::string first = post("/v1/chat/completions", body)["choices"][0]["message"]["content"];
  std::string again = post("/v1/chat/completions", body)["choices"][0]["message"]["content"];
  EXPECT_EQ(first, again);
  int differ = 0;
  for (int seed = 1; seed <= 4; ++seed) {
    body["seed"] = seed;
    differ += post("/v1/chat/completions", body)["choices"][0]["message"]["content"] != first;
  }
  EXPECT_GE(differ, 3);
  // n choices with one seed differ from each other but reproduce as a set.
  body["seed"] = 99;
  body["n"] = 3;
  json a = post("/v1/chat/completions", body), b = post("/v1/chat/completions", body);
  EXPECT_EQ(a["choices"], b["choices"]);
  EXPECT_NE(a["choices"][0]["message"], a["choices"][1]["message"]);
}

TEST_F(ServerTest, ChunkedPrefillGivesTheSameAnswers) {
  // A prompt fed 7 tokens per scheduler step, interleaved with other sequences' decoding,
  // must leave the model in the same state as one whole prefill.
  json body = {{"prompt", "The quick brown fox jumps over the lazy dog, twice over."},
               {"max_tokens", 12},
               {"temperature", 0},
               {"n", 3}};
  ServerOptions whole;
  whole.prefill_chunk = 100000;
  start(whole);
  json expected = post("/v1/completions", body);
  server_->shutdown();
  ServerOptions chunked;
  chunked.prefill_chunk = 7;
  start(chunked);
  EXPECT_EQ(post("/v1/completions", body)["choices"], expected["choices"]);
}

TEST_F(ServerTest, StreamingFramingMatchesTheWholeAnswer) {
  start();
  json body = chat_body("Stream this", 20);
  body["temperature"] = 0.8;
  body["seed"] = 5;
  json whole = post("/v1/chat/completions", body);
  body["stream"] = true;
  auto events = stream_events("/v1/chat/completions", body);
  ASSERT_GE(events.size(), 3u);
  EXPECT_EQ(events.back(), "[DONE]");
  json first = json::parse(events[0]);
  EXPECT_EQ(first["object"], "chat.completion.chunk");
  EXPECT_EQ(first["choices"][0]["delta"]["role"], "assistant");
  std::string text;
  std::string id = first["id"];
  for (size_t i = 1; i + 1 < events.size(); ++i) {
    json chunk = json::parse(events[i]);
    EXPECT_EQ(chunk["id"], id);
    const json& delta = chunk["choices"][0]["delta"];
    if (delta.contains("content")) text += delta["content"].get<std::string>();
  }
  json last = json::parse(events[events.size() - 2]);
  EXPECT_EQ(last["choices"][0]["finish_reason"], whole["choices"][0]["finish_reason"]);
  EXPECT_EQ(last["usage"], whole["usage"]);
  EXPECT_EQ(text, whole["choices"][0]["message"]["content"]);

  body["stream_options"] = {{"include_usage", true}};
  events = stream_events("/v1/chat/completions", body);
  json usage_chunk = json::parse(events[events.size() - 2]);
  EXPECT_TRUE(usage_chunk["choices"].empty());
  EXPECT_EQ(usage_chunk["usage"], whole["usage"]);

  json completion = {{"prompt", "Once"}, {"max_tokens", 6}, {"stream", true}, {"temperature", 0}};
  events = stream_events("/v1/completions", completion);
  EXPECT_EQ(events.back(), "[DONE]");
  EXPECT_EQ(json::parse(events[0])["object"], "text_completion");
}

TEST_F(ServerTest, LogprobsAndTopLogprobs) {
  start();
  json body = chat_body("x", 6);
  body["logprobs"] = true;
  body["top_logprobs"] = 3;
  json reply = post("/v1/chat/completions", body);
  const json& content = reply["choices"][0]["logprobs"]["content"];
  ASSERT_EQ(content.size(), reply["usage"]["completion_tokens"].get<size_t>());
  for (const json& token : content) {
    ASSERT_EQ(token["top_logprobs"].size(), 3u);
    // Greedy: the chosen token is the most likely one.
    EXPECT_FLOAT_EQ(token["logprob"].get<float>(),
                    token["top_logprobs"][0]["logprob"].get<float>());
    EXPECT_LE(token["logprob"].get<float>(), 0.0f);
    EXPECT_TRUE(token["bytes"].is_array());
  }
  json legacy = post("/v1/completions",
                     {{"prompt", "ab"}, {"max_tokens", 4}, {"logprobs", 2}, {"temperature", 0}});
  const json& lp = legacy["choices"][0]["logprobs"];
  EXPECT_EQ(lp["tokens"].size(), lp["token_logprobs"].size());
  EXPECT_EQ(lp["top_logprobs"][0].size(), 2u);
  body["top_logprobs"] = 21;
  post("/v1/chat/completions", body, 400);
}

TEST_F(ServerTest, JsonSchemaOutputValidates) {
  start();
  json schema = json::parse(R"({"type":"object","properties":{
      "answer":{"type":"string","maxLength":10},
      "confidence":{"type":"number"},
      "tags":{"type":"array","items":{"enum":["a","b"]},"maxItems":3},
      "final":{"type":"boolean"}},
    "required":["answer","confidence","final"],"additionalProperties":false})");
  json body = chat_body("Answer in JSON", 120);
  body["temperature"] = 1.0;
  body["response_format"] = {
      {"type", "json_schema"},
      {"json_schema", {{"name", "answer"}, {"strict", true}, {"schema", schema}}}};
  for (int seed = 0; seed < 6; ++seed) {
    body["seed"] = seed;
    body["stream"] = seed % 2 == 1;
    std::string content;
    if (body["stream"]) {
      for (const auto& event : stream_events("/v1/chat/completions", body)) {
        if (event == "[DONE]") continue;
        json delta = json::parse(event)["choices"][0]["delta"];
        if (delta.contains("content")) content += delta["content"].get<std::string>();
      }
    } else {
      json reply = post("/v1/chat/completions", body);
      EXPECT_EQ(reply["choices"][0]["finish_reason"], "stop");
      content = reply["choices"][0]["message"]["content"];
    }
    json parsed = json::parse(content, nullptr, false);
    ASSERT_FALSE(parsed.is_discarded()) << content;
    EXPECT_EQ(testing::schema_violation(parsed, schema), "") << content;
  }
  // json_object: any object; biasing towards closing quotes and braces keeps it short.
  body.erase("stream");
  body["response_format"] = {{"type", "json_object"}};
  body["logit_bias"] = {{"34", 4}, {"125", 6}};
  json reply = post("/v1/chat/completions", body);
  std::string content = reply["choices"][0]["message"]["content"];
  ASSERT_FALSE(content.empty());
  EXPECT_EQ(content[0], '{');
  if (reply["choices"][0]["finish_reason"] == "stop") {
    EXPECT_TRUE(json::parse(content, nullptr, false).is_object()) << content;
  }
}

TEST_F(ServerTest, ManyConcurrentStreamsAllComplete) {
  ServerOptions options;
  options.parallel = 4;  // more clients than slots: the rest wait in the queue
  // The wider model keeps requests long enough to overlap however the threads are scheduled.
  start(options, slower_model_dir());
  constexpr int kClients = 10;
  std::atomic<int> complete{0};
  std::vector<std::thread> clients;
  for (int i = 0; i < kClients; ++i) {
    clients.emplace_back([&, i] {
      httplib::Client client("127.0.0.1", server_->port());
      client.set_read_timeout(30, 0);
      json body = chat_body("client " + std::to_string(i), 40 + i);
      body["logit_bias"] = {{"256", -100}, {"258", -100}};  // no early end
      body["stream"] = true;
      auto res = client.Post("/v1/chat/completions", body.dump(), "application/json");
      if (res && res->status == 200 && res->body.find("data: [DONE]") != std::string::npos)
        ++complete;
    });
  }
  for (auto& t : clients) t.join();
  EXPECT_EQ(complete, kClients);
  std::string metrics = client_->Get("/metrics")->body;
  // Requests really shared decode steps: some step ran with more than one sequence.
  size_t at = metrics.find("tessera_batch_size_bucket{le=\"1\"} ");
  ASSERT_NE(at, std::string::npos);
  int64_t single =
      std::stoll(metrics.substr(at + std::strlen("tessera_batch_size_bucket{le=\"1\"} ")));
  at = metrics.find("tessera_batch_size_count ");
  int64_t steps = std::stoll(metrics.substr(at + std::strlen("tessera_batch_size_count ")));
  EXPECT_LT(single, steps);
}

TEST_F(ServerTest, ApiKeyIsRequiredExceptForHealth) {
  ServerOptions options;
  options.api_key = "sk-secret";
  start(options);
  httplib::Client anonymous("127.0.0.1", server_->port());
  auto res = anonymous.Get("/v1/models");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 401);
  EXPECT_EQ(json::parse(res->body)["error"]["code"], "invalid_api_key");
  anonymous.set_bearer_token_auth("sk-wrong");
  EXPECT_EQ(
      anonymous.Post("/v1/chat/completions", chat_body("hi").dump(), "application/json")->status,
      401);
  EXPECT_EQ(anonymous.Get("/metrics")->status, 401);
  EXPECT_EQ(anonymous.Get("/health")->status, 200);
  EXPECT_EQ(client_->Get("/v1/models")->status, 200);
  post("/v1/chat/completions", chat_body("hi", 2));
}

TEST_F(ServerTest, MalformedRequestsGetNamedErrorsAndTheServerGoesOn) {
  ServerOptions options;
  options.max_body_bytes = 4096;
  options.max_tokens = 64;
  start(options);
  struct Case {
    std::string body;
    int status;
    std::string param;
  };
  json unknown_role = chat_body("hi");
  unknown_role["messages"][0]["role"] = "wizard";
  json bad_temperature = chat_body("hi");
  bad_temperature["temperature"] = 3;
  json string_tokens = chat_body("hi");
  string_tokens["max_tokens"] = "many";
  json too_many = chat_body("hi");
  too_many["max_tokens"] = 65;
  json bad_bias = chat_body("hi");
  bad_bias["logit_bias"] = {{"99999", 1}};
  json bad_schema = chat_body("hi");
  bad_schema["response_format"] = {
      {"type", "json_schema"},
      {"json_schema", {{"name", "x"}, {"schema", {{"type", "string"}, {"pattern", "a+"}}}}}};
  std::vector<Case> cases = {
      {"{not json", 400, ""},
      {"[1,2]", 400, ""},
      {std::string(200, '['), 400, ""},
      {R"({"messages": []})", 400, "messages"},
      {R"({"messages": [{"role": "user"}]})", 400, "messages[0].content"},
      {unknown_role.dump(), 400, "messages[0].role"},
      {bad_temperature.dump(), 400, "temperature"},
      {string_tokens.dump(), 400, "max_tokens"},
      {too_many.dump(), 400, "max_tokens"},
      {bad_bias.dump(), 400, "logit_bias.99999"},
      {bad_schema.dump(), 400, "response_format"},
      {R"({"messages": [{"role": "user", "content": "x"}], "tools": [{"type": "function"}]})", 400,
       "tools"},
      {std::string(5000, ' '), 413, ""},
  };
  for (const Case& c : cases) {
    auto res = client_->Post("/v1/chat/completions", c.body, "application/json");
    ASSERT_TRUE(res) << c.body.substr(0, 60);
    EXPECT_EQ(res->status, c.status) << c.body.substr(0, 60) << " -> " << res->body;
    json error = json::parse(res->body, nullptr, false);
    ASSERT_FALSE(error.is_discarded()) << res->body;
    EXPECT_TRUE(error["error"]["message"].is_string());
    if (!c.param.empty()) {
      EXPECT_EQ(error["error"]["param"], c.param) << res->body;
      EXPECT_NE(error["error"]["message"].get<std::string>().find(c.param), std::string::npos);
    }
    EXPECT_TRUE(healthy());
  }
  EXPECT_EQ(post("/v1/completions", {{"max_tokens", 2}}, 400)["error"]["param"], "prompt");
  EXPECT_EQ(post("/v1/embeddings", {{"input", json::array()}}, 400)["error"]["param"], "input");
  // A prompt longer than the context.
  json long_prompt = {{"prompt", std::string(600, 'a')}, {"max_tokens", 1}};
  EXPECT_EQ(post("/v1/completions", long_prompt, 400)["error"]["code"], "context_length_exceeded");
  post("/v1/chat/completions", chat_body("still here", 3));
}

TEST_F(ServerTest, FullQueueAnswers429) {
  ServerOptions options;
  options.parallel = 1;
  options.max_queue = 1;
  start(options);
  // The n choices of a request queue together: three cannot fit one free slot and a queue
  // of one, whatever else is running (the tiny model would finish any "slot holder" before
  // the test could observe it).
  json error = post("/v1/completions", {{"prompt", "b"}, {"max_tokens", 2}, {"n", 3}}, 429);
  EXPECT_EQ(error["error"]["type"], "rate_limit_error");
  EXPECT_EQ(error["error"]["code"], "queue_full");
  EXPECT_EQ(
      post("/v1/completions", {{"prompt", "b"}, {"max_tokens", 2}, {"n", 2}})["choices"].size(),
      2u);
  EXPECT_TRUE(healthy());
}

TEST_F(ServerTest, DisconnectMidStreamCancelsTheSequence) {
  start({}, slower_model_dir());
  httplib::Client client("127.0.0.1", server_->port());
  json body = {{"prompt", "go"},
               {"max_tokens", 500},
               {"stream", true},
               {"temperature", 0},
               {"logit_bias", {{"256", -100}}}};
  httplib::Request req;
  req.method = "POST";
  req.path = "/v1/completions";
  req.body = body.dump();
  req.set_header("Content-Type", "application/json");
  int chunks = 0;
  req.content_receiver = [&](const char*, size_t, uint64_t, uint64_t) { return ++chunks < 3; };
  auto res = client.send(req);
  EXPECT_GE(chunks, 3);
  client.stop();
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (server_->engine().running() > 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  EXPECT_EQ(server_->engine().running(), 0);
  std::string metrics = client_->Get("/metrics")->body;
  EXPECT_NE(metrics.find("tessera_cancelled_sequences_total 1"), std::string::npos) << metrics;
  // Well short of the 500 tokens it asked for.
  size_t at = metrics.find("\ntessera_generated_tokens_total ");
  ASSERT_NE(at, std::string::npos);
  EXPECT_LT(std::stoll(metrics.substr(at + std::strlen("\ntessera_generated_tokens_total "))), 400);
  EXPECT_TRUE(healthy());
}

TEST_F(ServerTest, EmbeddingsAreNormalisedAndDeterministic) {
  start();
  json reply = post("/v1/embeddings",
                    {{"input", {"hello world", "hello world", "other"}}, {"model", "tiny"}});
  ASSERT_EQ(reply["data"].size(), 3u);
  std::vector<std::vector<float>> vectors;
  for (const json& item : reply["data"])
    vectors.push_back(item["embedding"].get<std::vector<float>>());
  EXPECT_EQ(vectors[0].size(), 32u);
  double norm = 0;
  for (float v : vectors[0]) norm += v * v;
  EXPECT_NEAR(norm, 1.0, 1e-5);
  EXPECT_EQ(vectors[0], vectors[1]);
  EXPECT_NE(vectors[0], vectors[2]);
  EXPECT_EQ(reply["usage"]["prompt_tokens"], 11 + 11 + 5);
  json shorter = post("/v1/embeddings",
                      {{"input", "hello world"}, {"dimensions", 8}, {"encoding_format", "base64"}});
  EXPECT_TRUE(shorter["data"][0]["embedding"].is_string());
  EXPECT_EQ(shorter["data"][0]["embedding"].get<std::string>().size(), 44u);  // 32 bytes in base64
}

TEST_F(ServerTest, MetricsArePrometheusText) {
  start();
  post("/v1/chat/completions", chat_body("count me", 4));
  // The request log runs just after the answer has been sent: give it a moment.
  std::string text, content_type;
  for (int attempt = 0; attempt < 200; ++attempt) {
    auto res = client_->Get("/metrics");
    ASSERT_TRUE(res);
    text = res->body;
    content_type = res->get_header_value("Content-Type");
    if (text.find("/v1/chat/completions") != std::string::npos) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_NE(content_type.find("text/plain"), std::string::npos);
  for (const char* name :
       {"# TYPE tessera_requests_total counter",
        "tessera_requests_total{endpoint=\"/v1/chat/completions\",status=\"200\"} 1",
        "# TYPE tessera_time_to_first_token_seconds histogram",
        "tessera_time_to_first_token_seconds_bucket{le=\"+Inf\"} 1",
        "tessera_time_per_output_token_seconds_count", "tessera_queue_waiting 0",
        "tessera_generated_tokens_total"}) {
    EXPECT_NE(text.find(name), std::string::npos) << name << "\n" << text;
  }
}

TEST_F(ServerTest, ShutdownFinishesStreamsAndRefusesNewWork) {
  ServerOptions options;
  options.shutdown_grace_seconds = 0.2;
  start(options);
  std::string body_text;
  std::thread reader([&] {
    httplib::Client client("127.0.0.1", server_->port());
    client.set_read_timeout(30, 0);
    json body = {{"prompt", "long"},
                 {"max_tokens", 500},
                 {"stream", true},
                 {"temperature", 0},
                 {"logit_bias", {{"256", -100}}}};
    auto res = client.Post("/v1/completions", body.dump(), "application/json");
    if (res) body_text = res->body;
  });
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (server_->engine().running() == 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  std::thread stopper([&] { server_->shutdown(); });
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  auto refused = httplib::Client("127.0.0.1", server_->port())
                     .Post("/v1/completions", R"({"prompt":"x"})", "application/json");
  if (refused) {
    EXPECT_EQ(refused->status, 503);
  }
  stopper.join();
  reader.join();
  EXPECT_NE(body_text.find("\"finish_reason\":\"length\""), std::string::npos)
      << body_text.substr(0, 200);
  EXPECT_NE(body_text.find("data: [DONE]"), std::string::npos);
}

}  // namespace
}  // namespace tessera::serve
