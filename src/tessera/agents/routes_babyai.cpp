// BabyAI's server (agentenv-babyai/server.py) under /babyai: step, reset and observation
// answer observation/reward/score/done (score: the reward summed over the episode); finished
// episodes refuse steps until reset, as upstream.
#include <fmt/format.h>

#include "tessera/agents/babyai.h"
#include "tessera/agents/server_routes.h"

namespace tessera::agents::routes {

void add_babyai_routes(Router& router) {
  const std::string name = "babyai";
  router.get("/babyai/",
             [](const Request&) -> nlohmann::json { return "This is environment BabyAI."; });
  router.post(
      "/babyai/create",
      [&router, name](const Request&) -> nlohmann::json {
        return {{"id", router.sessions().create(name, make_environment(name, router.config()))}};
      },
      false);
  router.post("/babyai/reset", [&router, name](const Request& request) -> nlohmann::json {
    int64_t id = request.body_int("id");
    int64_t task = request.optional_body_int("data_idx").value_or(0);
    return router.with_session(name, id, [&](Session& session) -> nlohmann::json {
      std::string observation = session.env->reset(task);
      return {{"observation", observation},
              {"reward", 0.0},
              {"score", 0.0},
              {"deleted", false},
              {"done", false}};
    });
  });
  router.post("/babyai/step", [&router, name](const Request& request) -> nlohmann::json {
    int64_t id = request.body_int("id");
    std::string action = request.body_string("action");
    return router.with_session(name, id, [&](Session& session) -> nlohmann::json {
      Environment& env = *session.env;
      if (!env.has_started())
        throw EnvError(fmt::format("The environment {} has not been reset.", id));
      if (env.done()) throw EnvError(fmt::format("The task with environment {} has finished.", id));
      StepResult result = env.step(action);
      return {{"observation", result.observation},
              {"reward", result.reward},
              {"score", env.total_reward()},
              {"done", result.done}};
    });
  });
  router.get("/babyai/observation", [&router, name](const Request& request) -> nlohmann::json {
    int64_t id = request.query_int("id");
    return router.with_session(name, id, [&](Session& session) -> nlohmann::json {
      Environment& env = *session.env;
      if (!env.has_started()) {
        return {{"observation", "Environment not initialized"},
                {"reward", 0},
                {"score", 0},
                {"done", false},
                {"deleted", false}};
      }
      if (env.done()) throw EnvError(fmt::format("The task with environment {} has finished.", id));
      auto& baby = dynamic_cast<BabyAIEnvironment&>(env);
      std::string text = env.observation();
      if (text.rfind("Your goal: ", 0) != 0) text = "Your goal: " + baby.goal() + "\n" + text;
      return {{"observation", text},
              {"reward", env.last_reward()},
              {"score", env.total_reward()},
              {"done", env.done()},
              {"deleted", false}};
    });
  });
  router.post("/babyai/close", [&router, name](const Request& request) -> nlohmann::json {
    return router.sessions().close(name, request.body_int("id"));
  });
}

}  // namespace tessera::agents::routes
