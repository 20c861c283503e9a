#include "tessera/agents/maze.h"

#include <fmt/format.h>

#include "tessera/core/error.h"

namespace tessera::agents {

namespace {

// LMRL-Gym's double_t_maze: 1 is a wall. Rows are the first coordinate ("x" in the prompt),
// columns the second ("y").
constexpr const char* kLayout[MazeEnvironment::kRows] = {
    "1111111111111",  //
    "1000001000001",  //
    "1110111110111",  //
    "1110111110111",  //
    "1110111110111",  //
    "1110000000111",  //
    "1111110111111",  //
    "1111110111111",  //
    "1111110111111",  //
    "1111111111111",  //
};

struct Direction {
  const char* action;
  int d_row;
  int d_col;
};
// Upstream's action order (the /maze/available_actions answer).
constexpr Direction kDirections[4] = {
    {"move left", 0, -1}, {"move right", 0, 1}, {"move up", -1, 0}, {"move down", 1, 0}};

// Upstream's wall-sentence order: right, left, above, below.
struct Neighbour {
  const char* words;
  int d_row;
  int d_col;
};
constexpr Neighbour kNeighbours[4] = {
    {"to your right", 0, 1}, {"to your left", 0, -1}, {"above you", -1, 0}, {"below you", 1, 0}};

}  // namespace

const std::vector<GridPosition>& MazeEnvironment::start_positions() {
  static const std::vector<GridPosition> positions = {
      {1, 1},  {1, 2}, {1, 3}, {1, 4}, {1, 5}, {1, 7}, {1, 8}, {1, 9}, {1, 10},
      {1, 11}, {2, 3}, {3, 3}, {4, 3}, {5, 3}, {5, 4}, {5, 5}, {5, 6}, {6, 6},
      {7, 6},  {5, 7}, {5, 8}, {5, 9}, {4, 9}, {3, 9}, {2, 9}};
  return positions;
}

bool MazeEnvironment::is_wall(GridPosition p) {
  if (p.row < 0 || p.row >= kRows || p.col < 0 || p.col >= kCols) return true;
  return kLayout[p.row][p.col] == '1';
}

const std::array<std::string, 4>& MazeEnvironment::actions() {
  static const std::array<std::string, 4> names = {kDirections[0].action, kDirections[1].action,
                                                   kDirections[2].action, kDirections[3].action};
  return names;
}

GridPosition MazeEnvironment::move(GridPosition from, const std::string& action) {
  for (const auto& direction : kDirections) {
    if (action == direction.action) {
      GridPosition to{from.row + direction.d_row, from.col + direction.d_col};
      return is_wall(to) ? from : to;
    }
  }
  return from;
}

std::string MazeEnvironment::describe_walls(GridPosition p) {
  std::vector<std::string> walls;
  for (const auto& neighbour : kNeighbours) {
    if (is_wall({p.row + neighbour.d_row, p.col + neighbour.d_col}))
      walls.push_back(neighbour.words);
  }
  if (walls.empty()) return "There are no walls near you.";
  if (walls.size() == 1) return fmt::format("There is a wall {}.", walls[0]);
  return fmt::format("There are walls {}.", fmt::join(walls, ", "));
}

std::string MazeEnvironment::describe(GridPosition p) {
  return fmt::format(
      "The goal is at position {}, {}. Your current position is at position {}, {}. {}", goal().row,
      goal().col, p.row, p.col, describe_walls(p));
}

std::string MazeEnvironment::reset(int64_t game) {
  const auto& starts = start_positions();
  TESSERA_CHECK_INPUT(game >= 0 && game < static_cast<int64_t>(starts.size()),
                      "The game {} is not valid.", game);
  begin_episode(game);
  start_ = position_ = starts[static_cast<size_t>(game)];
  steps_ = 0;
  observation_ = describe(position_);
  return observation_;
}

StepResult MazeEnvironment::step(const std::string& action) {
  require_running();
  StepResult result;
  if (steps_ >= kMaxSteps) {
    result = {"Failure\n", kFailureReward, true};
  } else {
    position_ = move(position_, action);
    if (position_ == goal()) {
      result = {"Success\n", kSuccessReward, true};
    } else {
      ++steps_;
      result = {describe(position_), 0.0, false};
    }
  }
  observation_ = result.observation;
  record_step(result);
  return result;
}

std::vector<std::string> MazeEnvironment::available_actions() const {
  return {actions().begin(), actions().end()};
}

}  // namespace tessera::agents
