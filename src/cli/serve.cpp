// `tessera serve` (the OpenAI-compatible server) and `tessera ask` (one question to any
// OpenAI-compatible endpoint through serve::Client).
#include <pthread.h>
#include <signal.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <thread>

#include <fmt/format.h>

#include "cli/commands.h"
#include "tessera/core/error.h"
#include "tessera/serve/openai_client.h"
#include "tessera/serve/server.h"

namespace tessera::cli {

namespace {

bool is_loopback(const std::string& host) {
  return host == "127.0.0.1" || host == "localhost" || host == "::1" || host.rfind("127.", 0) == 0;
}

void add_serve(CLI::App& app) {
  auto* cmd = app.add_subcommand("serve", "OpenAI-compatible HTTP server for a model folder");
  auto model_dir = std::make_shared<std::string>();
  auto options = std::make_shared<serve::ServerOptions>();
  auto max_body = std::make_shared<int64_t>(1 << 20);
  cmd->add_option("--model", *model_dir, "model folder (any architecture) or .gguf")->required();
  cmd->add_option("--host", options->host, "address to listen on (default loopback only)");
  cmd->add_option("--port", options->port, "port (0: any free port)")->check(CLI::Range(0, 65535));
  cmd->add_option("--parallel", options->parallel,
                  "sequences decoded together (continuous batching)")
      ->check(CLI::PositiveNumber);
  cmd->add_option("--api-key", options->api_key,
                  "require `Authorization: Bearer KEY` (default: $TESSERA_API_KEY if set)");
  cmd->add_option("--max-queue", options->max_queue, "sequences waiting for a slot before 429")
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--ctx", options->context, "tokens per sequence (0: the model's maximum)")
      ->check(CLI::NonNegativeNumber);
  cmd->add_option(
         "--prefill-chunk", options->prefill_chunk,
         "prompt tokens fed per scheduler step (smaller: steadier streams, slower prefill)")
      ->check(CLI::PositiveNumber);
  cmd->add_option("--model-name", options->model_name,
                  "name /v1/models lists (default: folder name)");
  cmd->add_option("--chat-template", options->chat_template,
                  "llama3, chatml or mistral (default: from tokenizer_config.json, else chatml)");
  cmd->add_option("--max-tokens", options->max_tokens, "largest max_tokens a request may ask for")
      ->check(CLI::PositiveNumber);
  cmd->add_option("--default-max-tokens", options->default_max_tokens,
                  "max_tokens when a request gives none")
      ->check(CLI::PositiveNumber);
  cmd->add_option("--max-body-bytes", *max_body, "largest request body (larger: 413)")
      ->check(CLI::PositiveNumber);
  cmd->add_option("--http-threads", options->http_threads, "connections served at once")
      ->check(CLI::PositiveNumber);
  cmd->add_option("--shutdown-grace", options->shutdown_grace_seconds,
                  "seconds running requests may finish after SIGINT/SIGTERM")
      ->check(CLI::NonNegativeNumber);
  cmd->callback([=] {
    serve::ServerOptions opts = *options;
    opts.max_body_bytes = static_cast<size_t>(*max_body);
    if (opts.api_key.empty()) {
      if (const char* key = std::getenv("TESSERA_API_KEY")) opts.api_key = key;
    }
    if (!is_loopback(opts.host) && opts.api_key.empty()) {
      std::fprintf(stderr,
                   "tessera serve: warning: listening on %s without --api-key; anyone who can "
                   "reach it can use the model\n",
                   opts.host.c_str());
    }
    // SIGINT/SIGTERM are taken by one thread (blocked everywhere else, including the threads
    // the server starts), which shuts the server down gracefully.
    sigset_t signals;
    sigemptyset(&signals);
    sigaddset(&signals, SIGINT);
    sigaddset(&signals, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &signals, nullptr);
    auto server = serve::Server::from_folder(*model_dir, opts);
    int port = server->bind();
    std::fprintf(stderr, "tessera serve: %s on http://%s:%d/v1 (parallel %d, context %lld%s)\n",
                 server->model_name().c_str(), opts.host.c_str(), port, opts.parallel,
                 static_cast<long long>(server->engine().context()),
                 opts.api_key.empty() ? "" : ", API key required");
    std::atomic<bool> finished{false};
    std::thread signal_watcher([&] {
      timespec tick{0, 200'000'000};
      while (!finished) {
        int signal = sigtimedwait(&signals, nullptr, &tick);
        if (signal == SIGINT || signal == SIGTERM) {
          std::fprintf(stderr, "tessera serve: %s: finishing running requests, then stopping\n",
                       signal == SIGINT ? "SIGINT" : "SIGTERM");
          server->shutdown();
          return;
        }
      }
    });
    server->serve();
    finished = true;
    signal_watcher.join();
    server->shutdown();
    std::fprintf(stderr, "tessera serve: stopped\n");
  });
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  TESSERA_CHECK_INPUT(in.good(), "cannot read {}", path);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

void add_ask(CLI::App& app) {
  auto* cmd = app.add_subcommand("ask", "Ask any OpenAI-compatible endpoint one question");
  struct Flags {
    std::string endpoint, model, api_key, system, schema_file, prompt;
    int max_tokens = 256;
    double temperature = 0.7;
    int64_t seed = -1;
    int n = 1;
    bool stream = false, json = false;
    double timeout = 300;
    int retries = 2;
  };
  auto f = std::make_shared<Flags>();
  cmd->add_option("--endpoint", f->endpoint, "base URL, e.g. http://127.0.0.1:8080/v1")->required();
  cmd->add_option("--model", f->model, "model name to request");
  cmd->add_option("--api-key", f->api_key, "bearer key (default: $OPENAI_API_KEY if set)");
  cmd->add_option("--system", f->system, "system message");
  cmd->add_option("--max-tokens", f->max_tokens, "tokens to generate")->check(CLI::PositiveNumber);
  cmd->add_option("--temperature", f->temperature, "0 = greedy")->check(CLI::Range(0.0, 2.0));
  cmd->add_option("--seed", f->seed, "sampling seed (-1: none)");
  cmd->add_option("--n", f->n, "number of answers")->check(CLI::Range(1, 16));
  cmd->add_option("--json-schema", f->schema_file, "answer as JSON following this schema file");
  cmd->add_option("--timeout", f->timeout, "seconds to wait for the answer")
      ->check(CLI::PositiveNumber);
  cmd->add_option("--retries", f->retries, "retries on 429/5xx")->check(CLI::NonNegativeNumber);
  cmd->add_flag("--stream", f->stream, "print the answer as it is generated");
  cmd->add_flag("--json", f->json, "print the answers and usage as JSON");
  cmd->add_option("prompt", f->prompt, "the question")->required();
  cmd->callback([f] {
    std::string key = f->api_key;
    if (key.empty()) {
      if (const char* env = std::getenv("OPENAI_API_KEY")) key = env;
    }
    serve::ClientOptions options{f->endpoint, key, 10.0, f->timeout};
    options.model = f->model.empty() ? "tessera" : f->model;
    options.max_retries = f->retries;
    serve::Client client(options);
    serve::ChatRequest request;
    if (!f->system.empty()) request.messages.push_back({"system", f->system});
    request.messages.push_back({"user", f->prompt});
    request.max_tokens = f->max_tokens;
    request.temperature = f->temperature;
    if (f->seed >= 0) request.seed = f->seed;
    if (f->n > 1) request.n = f->n;
    if (!f->schema_file.empty()) {
      auto schema = nlohmann::json::parse(read_file(f->schema_file), nullptr, false);
      TESSERA_CHECK_INPUT(!schema.is_discarded(), "{}: not valid JSON", f->schema_file);
      request.response_format = serve::json_schema_format("answer", schema);
    }
    serve::ChatResponse response;
    if (f->stream && !f->json) {
      response = client.chat_stream(request, [n = f->n](size_t choice, std::string_view delta) {
        if (choice == 0 || n == 1) std::fwrite(delta.data(), 1, delta.size(), stdout);
        std::fflush(stdout);
        return true;
      });
      std::fputc('\n', stdout);
      for (size_t i = 1; i < response.choices.size(); ++i) {
        std::printf("--- answer %zu ---\n%s\n", i + 1, response.choices[i].content.c_str());
      }
    } else {
      response = client.chat(request);
      if (f->json) {
        nlohmann::json out = {{"model", response.model},
                              {"answers", nlohmann::json::array()},
                              {"usage",
                               {{"prompt_tokens", response.prompt_tokens},
                                {"completion_tokens", response.completion_tokens}}}};
        for (const auto& choice : response.choices) {
          out["answers"].push_back(
              {{"content", choice.content}, {"finish_reason", choice.finish_reason}});
        }
        std::puts(out.dump(2, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
        return;
      }
      for (size_t i = 0; i < response.choices.size(); ++i) {
        if (response.choices.size() > 1) std::printf("--- answer %zu ---\n", i + 1);
        std::printf("%s\n", response.choices[i].content.c_str());
      }
    }
    std::fprintf(stderr, "usage: %lld prompt + %lld completion tokens\n",
                 static_cast<long long>(response.prompt_tokens),
                 static_cast<long long>(response.completion_tokens));
  });
}

}  // namespace

void add_serve_commands(CLI::App& app) {
  add_serve(app);
  add_ask(app);
}

}  // namespace tessera::cli
