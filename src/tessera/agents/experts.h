#pragma once
// Expert policies that generate training trajectories instead of downloading them: each looks
// at its environment's state (the same facts the observations give an agent, gathered without
// parsing text) and returns a ReAct thought and the action.
#include <memory>
#include <string>

#include "tessera/agents/environment.h"

namespace tessera::agents {

struct ExpertMove {
  std::string thought;
  std::string action;
};

class Expert {
 public:
  virtual ~Expert() = default;
  // The next move for `env`, which must be reset and not done.
  virtual ExpertMove next(const Environment& env) = 0;
};

// The expert for an environment name; throws BadInput for a name without one.
std::unique_ptr<Expert> make_expert(const std::string& env_name);

}  // namespace tessera::agents
