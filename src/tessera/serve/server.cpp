#include "tessera/serve/server.h"

#include <httplib.h>
#include <sys/socket.h>

#include <filesystem>
#include <random>

#include "tessera/core/error.h"

namespace tessera::serve {

namespace {

using Clock = std::chrono::steady_clock;

// When the request being handled on this worker thread started (httplib runs a request's
// routing, handler, streaming and logger on one thread).
thread_local Clock::time_point request_started;

const char* status_error_type(int status) {
  switch (status) {
    case 401:
      return "authentication_error";
    case 404:
      return "not_found_error";
    case 429:
      return "rate_limit_error";
    default:
      return status >= 500 ? "server_error" : "invalid_request_error";
  }
}

std::string status_message(int status, const httplib::Request& req) {
  switch (status) {
    case 404:
      return "no route " + req.method + " " + req.path;
    case 405:
      return "method " + req.method + " is not allowed on " + req.path;
    case 413:
      return "the request body is larger than this server accepts";
    case 400:
      return "malformed HTTP request";
    default:
      return "HTTP " + std::to_string(status);
  }
}

bool constant_time_equal(const std::string& a, const std::string& b) {
  unsigned char diff = a.size() == b.size() ? 0 : 1;
  for (size_t i = 0; i < a.size(); ++i) {
    diff |= static_cast<unsigned char>(a[i] ^ (i < b.size() ? b[i] : 0));
  }
  return diff == 0;
}

}  // namespace

std::unique_ptr<Server> Server::from_folder(const std::string& model_dir, ServerOptions options) {
  auto model = models::load_model(model_dir);
  auto tokenizer = text::load_tokenizer(model_dir);
  infer::ChatTemplate chat_template = infer::ChatTemplate::chatml;
  if (!options.chat_template.empty()) {
    TESSERA_CHECK_INPUT(infer::parse_chat_template(options.chat_template, chat_template),
                        "--chat-template '{}' is not llama3, chatml or mistral",
                        options.chat_template);
  } else if (auto detected = infer::detect_chat_template_in(model_dir)) {
    chat_template = *detected;
  }
  if (options.model_name.empty()) {
    std::filesystem::path path(model_dir);
    options.model_name = (path.has_filename() ? path : path.parent_path()).filename().string();
  }
  return std::make_unique<Server>(std::move(model), std::move(tokenizer), chat_template,
                                  std::move(options));
}

Server::Server(std::unique_ptr<models::CausalLM> model, std::unique_ptr<text::Tokenizer> tokenizer,
               infer::ChatTemplate chat_template, ServerOptions options)
    : options_(std::move(options)),
      model_(std::move(model)),
      tokenizer_(std::move(tokenizer)),
      template_(chat_template),
      http_(std::make_unique<httplib::Server>()) {
  TESSERA_CHECK_INPUT(options_.port >= 0 && options_.port < 65536, "--port {} is out of range",
                      options_.port);
  TESSERA_CHECK_INPUT(options_.http_threads > 0, "http threads must be positive");
  TESSERA_CHECK_INPUT(options_.max_tokens > 0 && options_.default_max_tokens > 0,
                      "max tokens must be positive");
  if (options_.model_name.empty()) options_.model_name = "tessera";
  // What ends a turn: the tokenizer's EOS, the config's eos_token_id(s), and the chat
  // format's end-of-turn token when the vocabulary has it as one token (it is a special
  // token, so decoding skips it and the stop string alone would never match).
  auto add_end = [&](int64_t id) {
    if (id >= 0 && id < model_->vocab_size() &&
        std::find(end_ids_.begin(), end_ids_.end(), id) == end_ids_.end()) {
      end_ids_.push_back(static_cast<int32_t>(id));
    }
  };
  if (auto eos = tokenizer_->eos_id()) add_end(*eos);
  const auto config = model_->config_json();
  if (auto it = config.find("eos_token_id"); it != config.end()) {
    if (it->is_number_integer()) add_end(it->get<int64_t>());
    if (it->is_array()) {
      for (const auto& id : *it) {
        if (id.is_number_integer()) add_end(id.get<int64_t>());
      }
    }
  }
  for (const std::string& stop : infer::chat_stop_strings(template_)) {
    if (auto id = tokenizer_->token_to_id(stop)) add_end(*id);
  }
  seed_base_ = std::random_device{}();
  engine_ = std::make_unique<Engine>(*model_, *tokenizer_, end_ids_,
                                     EngineOptions{options_.parallel, options_.max_queue,
                                                   options_.context, options_.prefill_chunk},
                                     &metrics_);
  register_routes();
}

Server::~Server() {
  shutdown();
}

RequestLimits Server::limits() const {
  RequestLimits limits;
  limits.max_tokens = options_.max_tokens;
  limits.vocab_size = model_->vocab_size();
  return limits;
}

std::string Server::new_id(const char* prefix) {
  return fmt::format("{}-{:x}{:06x}", prefix, seed_base_ & 0xffffff, next_id_++);
}

std::string Server::base_url() const {
  return "http://" + options_.host + ":" + std::to_string(port_) + "/v1";
}

void Server::register_routes() {
  auto& server = *http_;
  const int threads = options_.http_threads;
  server.new_task_queue = [threads] {
    return new httplib::ThreadPool(static_cast<size_t>(threads));
  };
  server.set_tcp_nodelay(true);
  // Idle keep-alive connections hold a worker thread and delay shutdown until they time out
  // (httplib only notices a stopped server between requests): keep the idle wait short.
  server.set_keep_alive_timeout(5);
  server.set_read_timeout(30, 0);
  server.set_write_timeout(30, 0);
  server.set_payload_max_length(options_.max_body_bytes);
  server.set_socket_options([this](socket_t sock) {
    int yes = 1;
    ::setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
    listen_socket_ = sock;
  });

  server.set_pre_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
    request_started = Clock::now();
    if (options_.api_key.empty() || req.path == "/health") {
      return httplib::Server::HandlerResponse::Unhandled;
    }
    const std::string expected = "Bearer " + options_.api_key;
    if (constant_time_equal(req.get_header_value("Authorization"), expected)) {
      return httplib::Server::HandlerResponse::Unhandled;
    }
    res.status = 401;
    res.set_content(dump_json(error_body("missing or wrong API key (Authorization: Bearer ...)",
                                         "authentication_error", "", "invalid_api_key")),
                    "application/json");
    return httplib::Server::HandlerResponse::Handled;
  });
  // Errors httplib raises itself (404, 413, ...) get an OpenAI error object too.
  httplib::Server::HandlerWithResponse on_error = [](const httplib::Request& req,
                                                     httplib::Response& res) {
    if (!res.body.empty()) return httplib::Server::HandlerResponse::Unhandled;
    res.set_content(
        dump_json(error_body(status_message(res.status, req), status_error_type(res.status))),
        "application/json");
    return httplib::Server::HandlerResponse::Handled;
  };
  server.set_error_handler(on_error);
  server.set_exception_handler(
      [](const httplib::Request&, httplib::Response& res, std::exception_ptr error) {
        try {
          std::rethrow_exception(error);
        } catch (const ApiError& e) {
          res.status = e.status();
          res.set_content(dump_json(e.to_json()), "application/json");
        } catch (const Error& e) {
          res.status = e.kind() == ErrorKind::BadInput ? 400 : 500;
          res.set_content(dump_json(error_body(e.what(), status_error_type(res.status))),
                          "application/json");
        } catch (const std::exception& e) {
          res.status = 500;
          res.set_content(dump_json(error_body(e.what(), "server_error")), "application/json");
        }
      });
  server.set_logger([this](const httplib::Request& req, const httplib::Response& res) {
    std::string endpoint = req.path.rfind("/v1/models", 0) == 0 ? "/v1/models" : req.path;
    static const char* const kKnown[] = {"/v1/models",      "/v1/chat/completions",
                                         "/v1/completions", "/v1/embeddings",
                                         "/health",         "/metrics"};
    if (std::find(std::begin(kKnown), std::end(kKnown), endpoint) == std::end(kKnown)) {
      endpoint = "other";  // bounded label values, whatever paths clients probe
    }
    metrics_.request_finished(
        endpoint, res.status,
        std::chrono::duration<double>(Clock::now() - request_started).count());
  });

  server.Get("/health", [this](const httplib::Request&, httplib::Response& res) {
    if (shutting_down_) {
      res.status = 503;
      res.set_content(R"({"status":"shutting down"})", "application/json");
      return;
    }
    res.set_content(dump_json({{"status", "ok"},
                               {"model", options_.model_name},
                               {"waiting", engine_->waiting()},
                               {"running", engine_->running()}}),
                    "application/json");
  });
  server.Get("/metrics", [this](const httplib::Request&, httplib::Response& res) {
    res.set_content(metrics_.render(), "text/plain; version=0.0.4");
  });
  auto model_object = [this] {
    return nlohmann::json{{"id", options_.model_name},
                          {"object", "model"},
                          {"created", 0},
                          {"owned_by", "tessera"},
                          {"meta",
                           {{"model_type", model_->model_type()},
                            {"vocab_size", model_->vocab_size()},
                            {"context", engine_->context()}}}};
  };
  server.Get("/v1/models", [model_object](const httplib::Request&, httplib::Response& res) {
    res.set_content(dump_json({{"object", "list"}, {"data", {model_object()}}}),
                    "application/json");
  });
  server.Get(R"(/v1/models/(.+))",
             [this, model_object](const httplib::Request& req, httplib::Response& res) {
               if (req.matches[1] != options_.model_name) {
                 throw ApiError(404, "no model named '" + std::string(req.matches[1]) + "'",
                                "model", "invalid_request_error", "model_not_found");
               }
               res.set_content(dump_json(model_object()), "application/json");
             });
  server.Post("/v1/chat/completions", [this](const httplib::Request& req, httplib::Response& res) {
    handle_chat(req, res);
  });
  server.Post("/v1/completions", [this](const httplib::Request& req, httplib::Response& res) {
    handle_completion(req, res);
  });
  server.Post("/v1/embeddings", [this](const httplib::Request& req, httplib::Response& res) {
    handle_embeddings(req, res);
  });
}

int Server::bind() {
  if (options_.port == 0) {
    port_ = http_->bind_to_any_port(options_.host.c_str());
    TESSERA_CHECK_INPUT(port_ > 0, "serve: cannot bind {}", options_.host);
  } else {
    TESSERA_CHECK_INPUT(http_->bind_to_port(options_.host.c_str(), options_.port),
                        "serve: cannot bind {}:{} (in use or not allowed)", options_.host,
                        options_.port);
    port_ = options_.port;
  }
  // httplib listens with a backlog of 5; many clients connecting at once need more.
  if (listen_socket_ >= 0) ::listen(listen_socket_, 1024);
  return port_;
}

void Server::serve() {
  TESSERA_CHECK(port_ > 0, "serve: serve() before bind()");
  http_->listen_after_bind();
}

void Server::start() {
  bind();
  serve_thread_ = std::thread([this] { serve(); });
}

void Server::shutdown() {
  if (!shutting_down_.exchange(true)) {
    // Streams end as their sequences finish; what is still running after the grace period is
    // cancelled, then the listener stops (which also closes idle keep-alive connections).
    auto grace = std::chrono::milliseconds(
        static_cast<int64_t>(std::max(0.0, options_.shutdown_grace_seconds) * 1000));
    engine_->shutdown(grace);
    // Let streaming handlers write their final chunks before the sockets close.
    auto deadline = Clock::now() + std::chrono::seconds(2);
    while (Clock::now() < deadline && open_streams_.load() > 0) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    http_->stop();
  }
  if (serve_thread_.joinable() && serve_thread_.get_id() != std::this_thread::get_id()) {
    serve_thread_.join();
  }
}

}  // namespace tessera::serve
