// SQLGym's server (agentenv-sqlgym/server.py) under /sqlgym: ids are called env_idx, create
// answers the bare id, reset answers [observation, null], step answers state/reward/done/info.
#include <fmt/format.h>

#include "tessera/agents/server_routes.h"

namespace tessera::agents::routes {

void add_sqlgym_routes(Router& router) {
  const std::string name = "sqlgym";
  router.get("/sqlgym/", [](const Request&) -> nlohmann::json { return "ok"; });
  router.get("/sqlgym/list_envs", [&router, name](const Request&) -> nlohmann::json {
    return router.sessions().ids(name);
  });
  router.post(
      "/sqlgym/create",
      [&router, name](const Request&) -> nlohmann::json {
        return router.sessions().create(name, make_environment(name, router.config()));
      },
      false);
  router.post("/sqlgym/reset", [&router, name](const Request& request) -> nlohmann::json {
    int64_t id = request.body_int("env_idx");
    int64_t item = request.body_int("item_id");
    return router.with_session(name, id, [&](Session& session) {
      return nlohmann::json::array({session.env->reset(item), nullptr});
    });
  });
  router.post("/sqlgym/step", [&router, name](const Request& request) -> nlohmann::json {
    int64_t id = request.body_int("env_idx");
    std::string action = request.body_string("action");
    return router.with_session(name, id, [&](Session& session) -> nlohmann::json {
      StepResult result = session.env->step(action);
      return {{"state", result.observation},
              {"reward", result.reward},
              {"done", result.done},
              {"info", nullptr}};
    });
  });
  router.get("/sqlgym/observation", [&router, name](const Request& request) -> nlohmann::json {
    int64_t id = request.query_int("env_idx");
    return router.with_session(
        name, id, [](Session& session) -> nlohmann::json { return session.env->observation(); });
  });
  router.post("/sqlgym/close", [&router, name](const Request& request) -> nlohmann::json {
    return router.sessions().close(name, request.body_int("env_idx"));
  });
}

}  // namespace tessera::agents::routes
