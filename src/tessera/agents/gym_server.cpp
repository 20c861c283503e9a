#include "tessera/agents/gym_server.h"

#include <httplib.h>
#include <sys/socket.h>

#include <algorithm>
#include <chrono>

#include "tessera/agents/server_routes.h"
#include "tessera/core/error.h"

namespace tessera::agents {

namespace {
// Which route family serves an environment.
void add_routes(routes::Router& router, const std::string& env_name) {
  if (env_name == "maze" || env_name == "wordle") {
    routes::add_lmrlgym_routes(router, env_name);
    return;
  }
  if (env_name == "textcraft") {
    routes::add_textcraft_routes(router);
    return;
  }
  if (env_name == "babyai") {
    routes::add_babyai_routes(router);
    return;
  }
  if (env_name == "sqlgym") {
    routes::add_sqlgym_routes(router);
    return;
  }
  if (env_name == "todo" || env_name == "weather") {
    routes::add_tool_routes(router, env_name);
    return;
  }
  throw bad_input("gym serve: no HTTP routes for environment '{}'", env_name);
}
}  // namespace

GymServer::GymServer(GymServerOptions options)
    : options_(std::move(options)),
      sessions_(options_.max_sessions),
      http_(std::make_unique<httplib::Server>()) {
  TESSERA_CHECK_INPUT(options_.max_sessions > 0, "--max-sessions must be positive, got {}",
                      options_.max_sessions);
  TESSERA_CHECK_INPUT(options_.idle_ttl_seconds > 0, "--idle-ttl must be positive, got {}",
                      options_.idle_ttl_seconds);
  TESSERA_CHECK_INPUT(options_.port >= 0 && options_.port < 65536, "--port {} is out of range",
                      options_.port);
  TESSERA_CHECK_INPUT(options_.http_threads > 0, "http threads must be positive");
  if (options_.envs.empty()) {
    for (const auto& spec : environment_specs()) env_names_.push_back(spec.name);
  } else {
    for (const auto& name : options_.envs) {
      find_environment(name);  // throws for unknown names
      if (std::find(env_names_.begin(), env_names_.end(), name) == env_names_.end()) {
        env_names_.push_back(name);
      }
    }
  }
  // Fail at start, not on the first request, when an environment cannot be built (e.g. the
  // Wordle word list is missing).
  for (const auto& name : env_names_) make_environment(name, options_.config);
  register_routes();
}

GymServer::~GymServer() {
  stop();
}

void GymServer::register_routes() {
  auto& server = *http_;
  const int threads = options_.http_threads;
  server.new_task_queue = [threads] {
    return new httplib::ThreadPool(static_cast<size_t>(threads));
  };
  // Small request/answer pairs on keep-alive connections: without TCP_NODELAY, Nagle's
  // algorithm and delayed ACKs add tens of milliseconds to every step.
  server.set_tcp_nodelay(true);
  server.set_keep_alive_max_count(1'000'000);
  server.set_keep_alive_timeout(30);
  server.set_payload_max_length(16 * 1024 * 1024);
  // httplib listens with a backlog of 5, so a burst of clients connecting at once overflows
  // the accept queue and their first requests fail. Remember the listening socket to widen
  // its backlog after bind (listen() on a listening socket only updates the backlog).
  server.set_socket_options([this](socket_t sock) {
    int yes = 1;
    ::setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof(yes));
    listen_socket_ = sock;
  });
  // FastAPI's answers for unknown paths; handlers' own error bodies are left alone.
  httplib::Server::HandlerWithResponse on_error = [](const httplib::Request&,
                                                     httplib::Response& response) {
    if (!response.body.empty()) return httplib::Server::HandlerResponse::Unhandled;
    const char* detail = response.status == 404 ? "Not Found" : "Error";
    response.set_content(nlohmann::json{{"detail", detail}}.dump(), "application/json");
    return httplib::Server::HandlerResponse::Handled;
  };
  server.set_error_handler(on_error);

  router_ = std::make_unique<routes::Router>(server, sessions_, options_.config);
  auto names = env_names_;
  server.Get("/", [names](const httplib::Request&, httplib::Response& response) {
    response.set_content(nlohmann::json("This is Tessera's AgentGym server.").dump(),
                         "application/json");
  });
  server.Get("/envs", [names](const httplib::Request&, httplib::Response& response) {
    response.set_content(nlohmann::json(names).dump(), "application/json");
  });
  for (const auto& name : env_names_) add_routes(*router_, name);
}

int GymServer::bind() {
  if (options_.port == 0) {
    port_ = http_->bind_to_any_port(options_.host.c_str());
    TESSERA_CHECK_INPUT(port_ > 0, "gym serve: cannot bind {}", options_.host);
  } else {
    TESSERA_CHECK_INPUT(http_->bind_to_port(options_.host.c_str(), options_.port),
                        "gym serve: cannot bind {}:{} (in use or not allowed)", options_.host,
                        options_.port);
    port_ = options_.port;
  }
  if (listen_socket_ >= 0) ::listen(listen_socket_, 4096);
  sweeper_thread_ = std::thread([this] { sweep_idle_sessions(); });
  return port_;
}

void GymServer::serve() {
  TESSERA_CHECK(port_ > 0, "gym serve: serve() before bind()");
  http_->listen_after_bind();
}

void GymServer::start() {
  bind();
  serve_thread_ = std::thread([this] { serve(); });
}

void GymServer::stop() {
  {
    std::lock_guard lock(sweeper_mutex_);
    stopping_ = true;
  }
  sweeper_wake_.notify_all();
  if (http_) http_->stop();
  if (serve_thread_.joinable()) serve_thread_.join();
  if (sweeper_thread_.joinable()) sweeper_thread_.join();
}

void GymServer::sweep_idle_sessions() {
  auto ttl = std::chrono::duration_cast<std::chrono::steady_clock::duration>(
      std::chrono::duration<double>(options_.idle_ttl_seconds));
  // Check a few times per TTL so a session outlives it by at most about a quarter of it.
  auto period =
      std::clamp(ttl / 4, std::chrono::steady_clock::duration(std::chrono::milliseconds(20)),
                 std::chrono::steady_clock::duration(std::chrono::seconds(5)));
  std::unique_lock lock(sweeper_mutex_);
  while (!stopping_) {
    sweeper_wake_.wait_for(lock, period, [this] { return stopping_; });
    if (stopping_) break;
    lock.unlock();
    sessions_.evict_idle(ttl);
    lock.lock();
  }
}

}  // namespace tessera::agents
