#pragma once
// One HTTP process serving many AgentGym environments. Each environment keeps the routes,
// request bodies and answers of its own upstream server, under a prefix (/maze/..., /wordle/...
// as LMRL-Gym's server has them; /textcraft/..., /babyai/..., ... for the servers that
// upstream runs as separate processes at the root), so AgentGym's own clients work when given
// http://host:port/<env> as their server base.
#include <atomic>
#include <condition_variable>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "tessera/agents/environment.h"
#include "tessera/agents/sessions.h"

namespace httplib {
class Server;
}

namespace tessera::agents {

namespace routes {
class Router;
}

struct GymServerOptions {
  std::vector<std::string> envs;  // empty: every environment
  std::string host = "127.0.0.1";
  int port = 8000;                // 0: any free port (see GymServer::port())
  int64_t max_sessions = 4096;    // live sessions over all environments; more answers 503
  double idle_ttl_seconds = 600;  // sessions unused this long are removed
  int http_threads = 160;         // one per open keep-alive connection
  GymConfig config;
};

class GymServer {
 public:
  explicit GymServer(GymServerOptions options);
  ~GymServer();
  GymServer(const GymServer&) = delete;
  GymServer& operator=(const GymServer&) = delete;

  // Binds the socket (throws Error when it cannot) and returns the port.
  int bind();
  // Serves until stop(); call bind() first.
  void serve();
  // bind() + serve() on a background thread (tests and benchmarks).
  void start();
  void stop();
  int port() const { return port_; }
  size_t session_count() const { return sessions_.size(); }
  const std::vector<std::string>& envs() const { return env_names_; }

 private:
  void register_routes();
  void sweep_idle_sessions();

  GymServerOptions options_;
  std::vector<std::string> env_names_;
  SessionStore sessions_;
  std::unique_ptr<httplib::Server> http_;
  std::unique_ptr<routes::Router> router_;
  int port_ = 0;
  int listen_socket_ = -1;
  std::thread serve_thread_;
  std::thread sweeper_thread_;
  std::mutex sweeper_mutex_;
  std::condition_variable sweeper_wake_;
  bool stopping_ = false;
};

}  // namespace tessera::agents
