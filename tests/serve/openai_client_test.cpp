// The OpenAI-compatible client against a scripted fake endpoint on 127.0.0.1 (an ephemeral
// port, so parallel ctest runs never collide).
#include "tessera/serve/openai_client.h"

#include <gtest/gtest.h>
#include <httplib.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <mutex>
#include <thread>

#include "tessera/core/error.h"

namespace tessera::serve {
namespace {

using Handler = std::function<void(const httplib::Request&, httplib::Response&)>;

// A loopback server whose one route answers with whatever the test scripts.
class FakeEndpoint {
 public:
  explicit FakeEndpoint(Handler handler) : handler_(std::move(handler)) {
    server_.Post("/v1/chat/completions",
                 [this](const httplib::Request& req, httplib::Response& res) {
                   {
                     std::lock_guard lock(mutex_);
                     last_body_ = req.body;
                     last_authorization_ = req.get_header_value("Authorization");
                   }
                   handler_(req, res);
                 });
    server_.set_tcp_nodelay(true);
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    // bind_to_any_port already listens, so clients may connect before the accept loop runs.
  }
  ~FakeEndpoint() {
    server_.stop();
    thread_.join();
  }
  std::string base_url() const { return "http://127.0.0.1:" + std::to_string(port_) + "/v1"; }
  nlohmann::json last_body() {
    std::lock_guard lock(mutex_);
    return nlohmann::json::parse(last_body_);
  }
  std::string last_authorization() {
    std::lock_guard lock(mutex_);
    return last_authorization_;
  }

 private:
  Handler handler_;
  httplib::Server server_;
  int port_ = 0;
  std::thread thread_;
  std::mutex mutex_;
  std::string last_body_, last_authorization_;
};

nlohmann::json completion(const std::string& content) {
  return {{"id", "chatcmpl-1"},
          {"object", "chat.completion"},
          {"model", "tiny"},
          {"choices",
           {{{"index", 0},
             {"message", {{"role", "assistant"}, {"content", content}}},
             {"finish_reason", "stop"}}}},
          {"usage", {{"prompt_tokens", 12}, {"completion_tokens", 3}, {"total_tokens", 15}}}};
}

ChatRequest sample_request() {
  ChatRequest request;
  request.model = "tiny";
  request.messages = {{"system", "You are terse."}, {"user", "Say hi."}};
  request.temperature = 0.25;
  request.max_tokens = 17;
  request.stop = {"\n\n", "END"};
  request.seed = 42;
  return request;
}

TEST(OpenAIClient, SendsEveryFieldAndParsesTheAnswer) {
  FakeEndpoint endpoint([](const httplib::Request&, httplib::Response& res) {
    res.set_content(completion("hi").dump(), "application/json");
  });
  OpenAIClient client({endpoint.base_url(), "sk-test", 5, 5});
  ChatResponse response = client.chat(sample_request());
  EXPECT_EQ(response.content, "hi");
  EXPECT_EQ(response.finish_reason, "stop");
  EXPECT_EQ(response.model, "tiny");
  EXPECT_EQ(response.prompt_tokens, 12);
  EXPECT_EQ(response.completion_tokens, 3);

  nlohmann::json sent = endpoint.last_body();
  EXPECT_EQ(sent["model"], "tiny");
  ASSERT_EQ(sent["messages"].size(), 2u);
  EXPECT_EQ(sent["messages"][0]["role"], "system");
  EXPECT_EQ(sent["messages"][1]["content"], "Say hi.");
  EXPECT_DOUBLE_EQ(sent["temperature"].get<double>(), 0.25);
  EXPECT_EQ(sent["max_tokens"], 17);
  EXPECT_EQ(sent["stop"], nlohmann::json({"\n\n", "END"}));
  EXPECT_EQ(sent["seed"], 42);
  EXPECT_EQ(endpoint.last_authorization(), "Bearer sk-test");
}

TEST(OpenAIClient, OmitsUnsetOptionsAndTheKey) {
  FakeEndpoint endpoint([](const httplib::Request&, httplib::Response& res) {
    res.set_content(completion("ok").dump(), "application/json");
  });
  OpenAIClient client({endpoint.base_url(), "", 5, 5});
  ChatRequest request;
  request.model = "m";
  request.messages = {{"user", "x"}};
  client.chat(request);
  nlohmann::json sent = endpoint.last_body();
  EXPECT_FALSE(sent.contains("temperature"));
  EXPECT_FALSE(sent.contains("max_tokens"));
  EXPECT_FALSE(sent.contains("stop"));
  EXPECT_FALSE(sent.contains("seed"));
  EXPECT_EQ(endpoint.last_authorization(), "");
}

TEST(OpenAIClient, NonSuccessStatusQuotesTheServerMessage) {
  FakeEndpoint endpoint([](const httplib::Request&, httplib::Response& res) {
    res.status = 401;
    res.set_content(R"({"error":{"message":"invalid api key","type":"auth"}})", "application/json");
  });
  OpenAIClient client({endpoint.base_url(), "bad", 5, 5});
  try {
    client.chat(sample_request());
    FAIL() << "expected an error";
  } catch (const Error& e) {
    std::string message = e.what();
    EXPECT_NE(message.find("HTTP 401"), std::string::npos) << message;
    EXPECT_NE(message.find("invalid api key"), std::string::npos) << message;
  }
}

TEST(OpenAIClient, MalformedJsonIsAnError) {
  FakeEndpoint endpoint([](const httplib::Request&, httplib::Response& res) {
    res.set_content("{not json", "application/json");
  });
  OpenAIClient client({endpoint.base_url(), "", 5, 5});
  try {
    client.chat(sample_request());
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("not valid JSON"), std::string::npos) << e.what();
  }
}

TEST(OpenAIClient, JsonWithoutChoicesIsAnError) {
  FakeEndpoint endpoint([](const httplib::Request&, httplib::Response& res) {
    res.set_content(R"({"object":"chat.completion","choices":[]})", "application/json");
  });
  OpenAIClient client({endpoint.base_url(), "", 5, 5});
  try {
    client.chat(sample_request());
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("no choices"), std::string::npos) << e.what();
  }
}

TEST(OpenAIClient, SlowServerTimesOut) {
  FakeEndpoint endpoint([](const httplib::Request&, httplib::Response& res) {
    std::this_thread::sleep_for(std::chrono::milliseconds(600));
    res.set_content(completion("late").dump(), "application/json");
  });
  OpenAIClient client({endpoint.base_url(), "", 1, 0.15});
  auto start = std::chrono::steady_clock::now();
  EXPECT_THROW(client.chat(sample_request()), Error);
  double waited = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_LT(waited, 0.55);
}

TEST(OpenAIClient, RefusedConnectionIsAnError) {
  int port;
  {
    httplib::Server probe;  // take a free port, then close it so nothing listens there
    port = probe.bind_to_any_port("127.0.0.1");
  }
  OpenAIClient client({"http://127.0.0.1:" + std::to_string(port) + "/v1", "", 1, 1});
  EXPECT_THROW(client.chat(sample_request()), Error);
}

TEST(OpenAIClient, ParsesUrls) {
  HttpUrl url = parse_http_url("http://127.0.0.1:8080/v1/");
  EXPECT_EQ(url.host, "127.0.0.1");
  EXPECT_EQ(url.port, 8080);
  EXPECT_EQ(url.path, "/v1");
  EXPECT_EQ(parse_http_url("http://localhost").port, 80);
  EXPECT_EQ(OpenAIClient({"http://h:1/v1/chat/completions", "", 1, 1}).url(),
            "http://h:1/v1/chat/completions");
  EXPECT_EQ(OpenAIClient({"http://h:1/v1", "", 1, 1}).url(), "http://h:1/v1/chat/completions");
  EXPECT_THROW(parse_http_url("ftp://x"), Error);
  EXPECT_THROW(parse_http_url("https://x"), Error);
  EXPECT_THROW(parse_http_url("http://x:99999"), Error);
  EXPECT_THROW(parse_http_url("http://x:abc/v1"), Error);
  EXPECT_THROW(parse_http_url("http:///v1"), Error);
}

TEST(Client, RetriesRateLimitsAndServerErrorsWithBackoff) {
  std::atomic<int> calls{0};
  FakeEndpoint endpoint([&](const httplib::Request&, httplib::Response& res) {
    int call = calls++;
    if (call == 0) {
      res.status = 429;
      res.set_header("Retry-After", "0");
      res.set_content(R"({"error":{"message":"slow down"}})", "application/json");
    } else if (call == 1) {
      res.status = 503;
      res.set_content(R"({"error":{"message":"busy"}})", "application/json");
    } else {
      res.set_content(completion("third time").dump(), "application/json");
    }
  });
  ClientOptions options{endpoint.base_url(), "", 5, 5};
  options.backoff_initial_seconds = 0.01;
  Client client(options);
  EXPECT_EQ(client.chat(sample_request()).content, "third time");
  UsageTotals usage = client.usage();
  EXPECT_EQ(usage.retries, 2);
  EXPECT_EQ(usage.calls, 1);
  EXPECT_EQ(usage.prompt_tokens, 12);
  EXPECT_EQ(usage.completion_tokens, 3);
  EXPECT_EQ(calls, 3);
}

TEST(Client, GivesUpAfterMaxRetriesAndDoesNotRetryClientErrors) {
  std::atomic<int> calls{0};
  FakeEndpoint endpoint([&](const httplib::Request&, httplib::Response& res) {
    ++calls;
    res.status = 500;
    res.set_content(R"({"error":{"message":"broken"}})", "application/json");
  });
  ClientOptions options{endpoint.base_url(), "", 5, 5};
  options.max_retries = 3;
  options.backoff_initial_seconds = 0.001;
  Client client(options);
  EXPECT_THROW(client.chat(sample_request()), Error);
  EXPECT_EQ(calls, 4);
  EXPECT_EQ(client.usage().failures, 1);
  FakeEndpoint bad_request([&](const httplib::Request&, httplib::Response& res) {
    ++calls;
    res.status = 400;
    res.set_content(R"({"error":{"message":"no"}})", "application/json");
  });
  Client strict({bad_request.base_url(), "", 5, 5});
  calls = 0;
  EXPECT_THROW(strict.chat(sample_request()), Error);
  EXPECT_EQ(calls, 1);
}

TEST(Client, StreamsServerSentEventsAndParsesChoices) {
  FakeEndpoint endpoint([](const httplib::Request&, httplib::Response& res) {
    std::string body;
    for (const char* piece : {"Hel", "lo", " there"}) {
      nlohmann::json chunk = {
          {"model", "tiny"},
          {"choices",
           {{{"index", 0}, {"delta", {{"content", piece}}}, {"finish_reason", nullptr}}}}};
      body += "data: " + chunk.dump() + "\n\n";
    }
    body += ": a comment line\n\n";
    body += R"(data: {"choices":[{"index":0,"delta":{},"finish_reason":"length"}]})"
            "\n\n";
    body += R"(data: {"choices":[],"usage":{"prompt_tokens":4,"completion_tokens":3}})"
            "\n\n";
    body += "data: [DONE]\n\n";
    res.set_content(body, "text/event-stream");
  });
  Client client({endpoint.base_url(), "", 5, 5});
  std::string seen;
  ChatResponse response =
      client.chat_stream(sample_request(), [&](size_t choice, std::string_view delta) {
        EXPECT_EQ(choice, 0u);
        seen += delta;
        return true;
      });
  EXPECT_EQ(seen, "Hello there");
  EXPECT_EQ(response.content, "Hello there");
  EXPECT_EQ(response.finish_reason, "length");
  EXPECT_EQ(response.completion_tokens, 3);
  EXPECT_TRUE(endpoint.last_body()["stream"].get<bool>());
  EXPECT_EQ(client.usage().prompt_tokens, 4);
}

TEST(Client, SendsTheNewFieldsAndReadsEveryChoice) {
  FakeEndpoint endpoint([](const httplib::Request&, httplib::Response& res) {
    nlohmann::json reply = completion("a");
    reply["choices"].push_back({{"index", 1},
                                {"message", {{"role", "assistant"}, {"content", "b"}}},
                                {"finish_reason", "stop"},
                                {"logprobs",
                                 {{"content",
                                   {{{"token", "b"},
                                     {"logprob", -0.5},
                                     {"top_logprobs", {{{"token", "b"}, {"logprob", -0.5}}}}}}}}}});
    res.set_content(reply.dump(), "application/json");
  });
  ClientOptions options{endpoint.base_url(), "", 5, 5};
  options.model = "default-model";
  Client client(options);
  ChatRequest request;
  request.messages = {{"user", "x"}};
  request.n = 2;
  request.top_p = 0.5;
  request.logprobs = true;
  request.top_logprobs = 1;
  request.response_format = json_schema_format("thing", {{"type", "object"}});
  ChatResponse response = client.chat(request);
  ASSERT_EQ(response.choices.size(), 2u);
  EXPECT_EQ(response.choices[1].content, "b");
  ASSERT_EQ(response.choices[1].logprobs.size(), 1u);
  EXPECT_DOUBLE_EQ(response.choices[1].logprobs[0].logprob, -0.5);
  nlohmann::json sent = endpoint.last_body();
  EXPECT_EQ(sent["model"], "default-model");
  EXPECT_EQ(sent["n"], 2);
  EXPECT_EQ(sent["top_logprobs"], 1);
  EXPECT_EQ(sent["response_format"]["json_schema"]["name"], "thing");
}

}  // namespace
}  // namespace tessera::serve
