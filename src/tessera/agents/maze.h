#pragma once
// LMRL-Gym's maze as AgentGym serves it: the fixed "double T" maze, the goal at (8, 6), the
// 25 numbered start positions of AgentGym's server, fully observed text (goal, current
// position, walls in the order right, left, above, below), 50 steps, reward 1 at the goal
// and -1 with "Failure" when the step limit is hit. An action other than the four
// "move ..." strings leaves the agent in place and costs a step, as upstream.
#include <array>
#include <string>
#include <vector>

#include "tessera/agents/environment.h"

namespace tessera::agents {

struct GridPosition {
  int row = 0;
  int col = 0;
  bool operator==(const GridPosition&) const = default;
};

class MazeEnvironment : public Environment {
 public:
  static constexpr int kRows = 10;
  static constexpr int kCols = 13;
  static constexpr int kMaxSteps = 50;
  static constexpr double kSuccessReward = 1.0;
  static constexpr double kFailureReward = -1.0;

  // Upstream's list has 26 entries, but the last is the goal itself (its reset fails there);
  // the 25 others are the tasks.
  static const std::vector<GridPosition>& start_positions();
  static GridPosition goal() { return {8, 6}; }
  static bool is_wall(GridPosition p);
  static const std::array<std::string, 4>& actions();  // "move left", "move right", ...
  // Where `action` leads from `from`: the same cell for a wall or an unknown action.
  static GridPosition move(GridPosition from, const std::string& action);
  // Upstream's wall sentence ("There are walls to your left, above you.").
  static std::string describe_walls(GridPosition p);
  // The observation text for standing at `p`.
  static std::string describe(GridPosition p);

  std::string name() const override { return "maze"; }
  std::string reset(int64_t game) override;
  StepResult step(const std::string& action) override;
  std::string observation() const override { return observation_; }
  std::vector<std::string> available_actions() const override;

  GridPosition position() const { return position_; }
  GridPosition start() const { return start_; }
  int steps_taken() const { return steps_; }

 private:
  GridPosition start_{};
  GridPosition position_{};
  int steps_ = 0;
  std::string observation_;
};

}  // namespace tessera::agents
