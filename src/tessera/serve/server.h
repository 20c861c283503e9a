#pragma once
// Tessera's OpenAI-compatible HTTP server: /v1/models, /v1/completions, /v1/chat/completions
// (streaming by server-sent events), /v1/embeddings, /health and /metrics, over one model
// driven by the continuous-batching Engine. Loopback by default; with an API key every route
// but /health needs `Authorization: Bearer KEY`.
#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>

#include "tessera/infer/chat.h"
#include "tessera/models/causal_lm.h"
#include "tessera/serve/engine.h"
#include "tessera/serve/metrics.h"
#include "tessera/serve/protocol.h"
#include "tessera/text/tokenizer.h"

namespace httplib {
class Server;
struct Request;
struct Response;
}  // namespace httplib

namespace tessera::serve {

struct ServerOptions {
  std::string model_name;  // what /v1/models lists; default: the model folder's name
  std::string host = "127.0.0.1";
  int port = 8080;              // 0: any free port (see Server::port())
  int parallel = 8;             // sequences decoded together
  int64_t max_queue = 64;       // sequences waiting before 429
  int64_t context = 0;          // tokens per sequence; 0: the model's maximum
  int64_t prefill_chunk = 128;  // prompt tokens fed per scheduler step (between decode steps)
  std::string api_key;          // empty: no authentication
  size_t max_body_bytes = 1 << 20;
  int64_t max_tokens = 4096;  // the largest max_tokens a request may ask for
  int64_t default_max_tokens = 256;
  std::string chat_template;  // llama3, chatml or mistral; empty: detect, else chatml
  int http_threads = 64;      // concurrent connections served
  double shutdown_grace_seconds = 10;
};

class Server {
 public:
  // Loads DIR (any registered architecture) and its tokenizer.
  static std::unique_ptr<Server> from_folder(const std::string& model_dir, ServerOptions options);
  Server(std::unique_ptr<models::CausalLM> model, std::unique_ptr<text::Tokenizer> tokenizer,
         infer::ChatTemplate chat_template, ServerOptions options);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  int bind();    // binds the socket (BadInput when it cannot); returns the port
  void serve();  // blocks until shutdown()
  void start();  // bind() + serve() on a background thread
  // Graceful: new requests get 503, running ones finish for up to the grace period (then
  // are cancelled), then the listener stops. Safe to call from any thread, more than once.
  void shutdown();
  int port() const { return port_; }
  std::string base_url() const;
  const std::string& model_name() const { return options_.model_name; }
  Metrics& metrics() { return metrics_; }
  Engine& engine() { return *engine_; }

 private:
  void register_routes();
  void handle_chat(const httplib::Request& req, httplib::Response& res);
  void handle_completion(const httplib::Request& req, httplib::Response& res);
  void handle_embeddings(const httplib::Request& req, httplib::Response& res);
  // Submits the n choices of each prompt and answers (streamed or whole).
  void answer(bool chat, const SamplingRequest& request,
              const std::vector<std::vector<int32_t>>& prompts,
              const std::vector<std::string>& echo_texts, httplib::Response& res);
  std::vector<SequenceSpec> specs_for(const SamplingRequest& request,
                                      const std::vector<int32_t>& prompt);
  std::shared_ptr<const JsonGrammar> grammar_for(const ResponseFormat& format);
  RequestLimits limits() const;
  std::string new_id(const char* prefix);

  ServerOptions options_;
  std::unique_ptr<models::CausalLM> model_;
  std::unique_ptr<text::Tokenizer> tokenizer_;
  infer::ChatTemplate template_;
  std::vector<int32_t> end_ids_;
  Metrics metrics_;
  std::unique_ptr<Engine> engine_;
  std::unique_ptr<httplib::Server> http_;
  int port_ = 0;
  int listen_socket_ = -1;
  std::thread serve_thread_;
  std::atomic<bool> shutting_down_{false};
  std::atomic<int> open_streams_{0};  // streaming responses still being written
  std::atomic<uint64_t> next_id_{1};
  uint64_t seed_base_;
  std::mutex grammar_mutex_;
  std::unordered_map<std::string, std::shared_ptr<const JsonGrammar>> grammars_;
};

}  // namespace tessera::serve
