// TextCraft's server (agentenv-textcraft/server.py) under /textcraft: create resets the new
// environment to the task numbered like its id, as upstream does; finished episodes keep
// taking steps; close answers true or false.
#include <fmt/format.h>

#include <algorithm>

#include "tessera/agents/server_routes.h"
#include "tessera/agents/textcraft.h"

namespace tessera::agents::routes {

namespace {
nlohmann::json state_answer(int64_t id, const Environment& env) {
  return {{"id", id}, {"observation", env.observation()}, {"done", env.done()}, {"reward", 0}};
}
}  // namespace

void add_textcraft_routes(Router& router) {
  const std::string name = "textcraft";
  router.get("/textcraft/",
             [](const Request&) -> nlohmann::json { return "This is environment TextCraft."; });

  router.post(
      "/textcraft/create",
      [&router, name](const Request& request) -> nlohmann::json {
        // Upstream accepts custom "commands" and "goal" here but its reset ignores them; they
        // are validated and ignored alike.
        request.optional_body_string("commands");
        request.optional_body_string("goal");
        auto env = make_environment(name, router.config());
        Environment* raw = env.get();
        int64_t id = router.sessions().create(name, std::move(env));
        return router.with_session(name, id, [&](Session&) {
          raw->reset(id);
          return state_answer(id, *raw);
        });
      },
      false);

  router.post("/textcraft/step", [&router, name](const Request& request) -> nlohmann::json {
    int64_t id = request.body_int("id");
    std::string action = request.body_string("action");
    return router.with_session(name, id, [&](Session& session) -> nlohmann::json {
      StepResult result = session.env->step(action);
      return {
          {"observation", result.observation}, {"reward", result.reward}, {"done", result.done}};
    });
  });

  router.post("/textcraft/reset", [&router, name](const Request& request) -> nlohmann::json {
    int64_t id = request.body_int("id");
    int64_t task = request.optional_body_int("data_idx").value_or(0);
    return router.with_session(name, id, [&](Session& session) {
      session.env->reset(task);
      return state_answer(id, *session.env);
    });
  });

  router.get("/textcraft/observation", [&router, name](const Request& request) -> nlohmann::json {
    int64_t id = request.query_int("id");
    return router.with_session(
        name, id, [](Session& session) -> nlohmann::json { return session.env->observation(); });
  });

  router.get("/textcraft/commands", [&router, name](const Request& request) -> nlohmann::json {
    int64_t id = request.query_int("id");
    return router.with_session(name, id, [](Session& session) -> nlohmann::json {
      return dynamic_cast<TextCraftEnvironment&>(*session.env).commands_text();
    });
  });

  router.get("/textcraft/goal", [&router, name](const Request& request) -> nlohmann::json {
    int64_t id = request.query_int("id");
    return router.with_session(name, id, [](Session& session) -> nlohmann::json {
      std::string goal = dynamic_cast<TextCraftEnvironment&>(*session.env).world().goal;
      std::replace(goal.begin(), goal.end(), ' ', '_');
      return "minecraft:" + goal;  // upstream answers the raw item id
    });
  });

  router.get("/textcraft/detail", [&router, name](const Request& request) -> nlohmann::json {
    int64_t id = request.query_int("id");
    return router.with_session(name, id, [](Session& session) -> nlohmann::json {
      const Environment& env = *session.env;
      return {{"observation", env.observation()},
              {"done", env.done()},
              {"reward", env.total_reward()},
              {"deleted", false}};
    });
  });

  router.post("/textcraft/close", [&router, name](const Request& request) -> nlohmann::json {
    return router.sessions().close(name, request.body_int("id"));
  });
}

}  // namespace tessera::agents::routes
