#pragma once
// BabyAI-text as AgentGym serves it (agentenv-babyai, after AgentBoard): a MiniGrid-style
// grid world (rooms, doors that are open, closed or locked, keys, balls, boxes) seen through
// the agent's 7x7 egocentric view, described in text ("There is a red ball 1 right in front of
// you 3 steps away."), with macro-actions that BFS-navigate within the view ("go to red ball
// 1", "pickup red ball 1", "toggle and go through blue closed door 1", ...). Tessera builds
// ten level families itself (GoTo, PickUp, PutNext, Open, Unlock and combinations), seeded
// by the task id; MiniGrid's own levels are not reproduced object for object.
#include <array>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "tessera/agents/environment.h"
#include "tessera/agents/experts.h"

namespace tessera::agents {

enum class CellKind : uint8_t { Empty, Wall, Door, Key, Ball, Box };
enum class DoorState : uint8_t { Open, Closed, Locked };

struct GridCell {
  CellKind kind = CellKind::Empty;
  std::string color;
  DoorState door = DoorState::Closed;
  bool operator==(const GridCell&) const = default;
};

struct GridPoint {
  int x = 0;
  int y = 0;
  bool operator==(const GridPoint&) const = default;
  auto operator<=>(const GridPoint&) const = default;
};

enum class MissionKind { GoTo, PickUp, Open, PutNext };

struct Mission {
  MissionKind kind = MissionKind::GoTo;
  GridCell target;   // compared by kind and color
  GridCell next_to;  // PutNext's second object
  std::string text;  // "go to the red ball"
};

// A world and the agent in it; low-level MiniGrid actions.
struct GridWorld {
  int width = 0, height = 0;
  std::vector<GridCell> cells;
  GridPoint agent;
  int dir = 0;  // 0 east, 1 south, 2 west, 3 north (MiniGrid's order)
  std::optional<GridCell> carrying;
  Mission mission;
  std::string level;

  GridCell& at(GridPoint p) { return cells[static_cast<size_t>(p.y * width + p.x)]; }
  const GridCell& at(GridPoint p) const { return cells[static_cast<size_t>(p.y * width + p.x)]; }
  bool inside(GridPoint p) const { return p.x >= 0 && p.y >= 0 && p.x < width && p.y < height; }
  GridPoint front() const;
  // MiniGrid's primitive actions; false when the action changed nothing.
  bool turn_left();
  bool turn_right();
  bool forward();
  bool pickup();
  bool drop();
  bool toggle();
  bool mission_done() const;
};

// The world of task `task`: level family task % 10, layout seeded by the task.
GridWorld generate_babyai_world(int64_t task);
const std::vector<std::string>& babyai_level_names();

class BabyAIEnvironment : public Environment {
 public:
  std::string name() const override { return "babyai"; }
  std::string reset(int64_t task) override;
  StepResult step(const std::string& action) override;
  std::string observation() const override { return observation_; }
  std::vector<std::string> available_actions() const override;
  bool succeeded() const override { return done() && last_reward() > 0.0; }

  const GridWorld& world() const { return world_; }
  const std::string& goal() const { return world_.mission.text; }
  // Macro action -> its primitive actions (0 left, 1 right, 2 forward, 3 pickup, 4 drop, 5 toggle).
  const std::vector<std::pair<std::string, std::vector<int>>>& action_space() const {
    return action_space_;
  }
  static constexpr int kMaxPrimitiveSteps = 256;

 private:
  // The text of what the agent sees; also rebuilds the macro-action space.
  std::string describe();
  std::string with_actions(const std::string& text) const;

  GridWorld world_;
  std::vector<std::pair<std::string, std::vector<int>>> action_space_;
  std::map<std::string, std::string> error_messages_;
  int primitive_steps_ = 0;
  std::string state_;  // the latest description (upstream's states[-1])
  std::string observation_;
};

std::unique_ptr<Expert> make_babyai_expert();

}  // namespace tessera::agents
