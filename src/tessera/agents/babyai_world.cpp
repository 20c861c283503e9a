// BabyAI grid worlds: MiniGrid's primitive actions and Tessera's ten level families.
#include <fmt/format.h>

#include <algorithm>

#include "tessera/agents/babyai.h"
#include "tessera/agents/seeded_random.h"
#include "tessera/core/error.h"

namespace tessera::agents {

namespace {

constexpr GridPoint kDirections[4] = {{1, 0}, {0, 1}, {-1, 0}, {0, -1}};
const std::vector<std::string> kColors = {"red", "green", "blue", "purple", "yellow", "grey"};

const char* kind_word(CellKind kind) {
  switch (kind) {
    case CellKind::Key:
      return "key";
    case CellKind::Ball:
      return "ball";
    case CellKind::Box:
      return "box";
    case CellKind::Door:
      return "door";
    case CellKind::Wall:
      return "wall";
    default:
      return "empty";
  }
}

bool same_object(const GridCell& a, const GridCell& b) {
  return a.kind == b.kind && a.color == b.color;
}

class LevelBuilder {
 public:
  explicit LevelBuilder(int64_t task)
      : rng_(0xbab1a1ull ^ (static_cast<uint64_t>(task) * 0x9e3779b97f4a7c15ull)) {}

  GridWorld build(int64_t task) {
    int family = static_cast<int>(task % 10);
    w_.level = babyai_level_names()[static_cast<size_t>(family)];
    bool two_rooms = family >= 7;
    make_rooms(two_rooms);
    w_.dir = static_cast<int>(rng_.randint(0, 4));
    w_.agent = random_free(0);
    switch (family) {
      case 0: {  // GoToRedBall: a red ball among distractors
        GridCell ball{CellKind::Ball, "red"};
        place(ball, 0);
        for (int i = 0; i < 7; ++i) place(random_object({ball}), 0);
        set_mission(MissionKind::GoTo, ball);
        break;
      }
      case 1: {  // GoToRedBallNoDists
        GridCell ball{CellKind::Ball, "red"};
        place(ball, 0);
        set_mission(MissionKind::GoTo, ball);
        break;
      }
      case 2: {  // GoToObj: one object
        GridCell target = random_object({});
        place(target, 0);
        set_mission(MissionKind::GoTo, target);
        break;
      }
      case 3:    // GoToLocal: eight distinct objects, go to one
      case 4: {  // PickupLoc: six distinct objects, pick one up
        auto objects = distinct_objects(family == 3 ? 8 : 6);
        for (const auto& object : objects) place(object, 0);
        set_mission(family == 3 ? MissionKind::GoTo : MissionKind::PickUp, rng_.pick(objects));
        break;
      }
      case 5: {  // PutNextLocal: four distinct objects
        auto objects = distinct_objects(4);
        for (const auto& object : objects) place(object, 0);
        set_mission(MissionKind::PutNext, objects[0], objects[1]);
        break;
      }
      case 6: {  // GoToDoor: a closed door in each wall
        std::vector<std::string> colors = kColors;
        rng_.shuffle(colors);
        GridPoint spots[4] = {{static_cast<int>(rng_.randint(1, 7)), 0},
                              {7, static_cast<int>(rng_.randint(1, 7))},
                              {static_cast<int>(rng_.randint(1, 7)), 7},
                              {0, static_cast<int>(rng_.randint(1, 7))}};
        for (int i = 0; i < 4; ++i)
          w_.at(spots[i]) = {CellKind::Door, colors[static_cast<size_t>(i)], DoorState::Closed};
        set_mission(MissionKind::GoTo,
                    GridCell{CellKind::Door, colors[static_cast<size_t>(rng_.randint(0, 4))]});
        break;
      }
      case 7: {  // Open: the door between two rooms is closed
        GridCell& door = w_.at(door_);
        door = {CellKind::Door, rng_.pick(kColors), DoorState::Closed};
        for (int i = 0; i < 2; ++i) place(random_object({}), 1);
        set_mission(MissionKind::Open, GridCell{CellKind::Door, door.color});
        break;
      }
      case 8:
      case 9: {  // Unlock / UnlockPickup: the door is locked, its key is in the agent's room
        GridCell& door = w_.at(door_);
        door = {CellKind::Door, rng_.pick(kColors), DoorState::Locked};
        place(GridCell{CellKind::Key, door.color}, 0);
        if (family == 8) {
          set_mission(MissionKind::Open, GridCell{CellKind::Door, door.color});
        } else {
          GridCell box{CellKind::Box, rng_.pick(kColors)};
          place(box, 1);
          set_mission(MissionKind::PickUp, box);
        }
        break;
      }
    }
    return w_;
  }

 private:
  void make_rooms(bool two_rooms) {
    w_.width = two_rooms ? 15 : 8;
    w_.height = 8;
    w_.cells.assign(static_cast<size_t>(w_.width * w_.height), GridCell{});
    for (int x = 0; x < w_.width; ++x) {
      w_.at({x, 0}) = GridCell{CellKind::Wall, ""};
      w_.at({x, w_.height - 1}) = GridCell{CellKind::Wall, ""};
    }
    for (int y = 0; y < w_.height; ++y) {
      w_.at({0, y}) = GridCell{CellKind::Wall, ""};
      w_.at({w_.width - 1, y}) = GridCell{CellKind::Wall, ""};
      if (two_rooms) w_.at({7, y}) = GridCell{CellKind::Wall, ""};
    }
    if (two_rooms) {
      door_ = {7, static_cast<int>(rng_.randint(1, 7))};
      w_.at(door_) = {CellKind::Door, "grey", DoorState::Open};
      // The cells on both sides of the door stay free so it can always be crossed.
      reserved_.push_back({6, door_.y});
      reserved_.push_back({8, door_.y});
    }
  }

  GridPoint random_free(int room) {
    int x0 = room == 0 ? 1 : 8, x1 = room == 0 ? 7 : 14;
    for (int attempt = 0; attempt < 1000; ++attempt) {
      GridPoint p{static_cast<int>(rng_.randint(x0, x1)), static_cast<int>(rng_.randint(1, 7))};
      if (w_.at(p).kind != CellKind::Empty || p == w_.agent) continue;
      if (std::find(reserved_.begin(), reserved_.end(), p) != reserved_.end()) continue;
      return p;
    }
    throw runtime_error("babyai: no free cell left in room {}", room);
  }

  void place(const GridCell& object, int room) {
    GridPoint p = random_free(room);
    w_.at(p) = object;
    // Keep objects from walling each other in: never two objects side by side in a row.
    reserved_.push_back({p.x + 1, p.y});
    reserved_.push_back({p.x - 1, p.y});
  }

  GridCell random_object(const std::vector<GridCell>& avoid) {
    static const CellKind kinds[3] = {CellKind::Key, CellKind::Ball, CellKind::Box};
    for (;;) {
      GridCell object{kinds[rng_.randint(0, 3)], rng_.pick(kColors)};
      bool clash = std::any_of(avoid.begin(), avoid.end(),
                               [&](const GridCell& a) { return same_object(a, object); });
      if (!clash) return object;
    }
  }

  std::vector<GridCell> distinct_objects(int count) {
    std::vector<GridCell> objects;
    while (static_cast<int>(objects.size()) < count) objects.push_back(random_object(objects));
    return objects;
  }

  void set_mission(MissionKind kind, const GridCell& target, const GridCell& next_to = {}) {
    w_.mission.kind = kind;
    w_.mission.target = target;
    w_.mission.next_to = next_to;
    std::string name = fmt::format("{} {}", target.color, kind_word(target.kind));
    switch (kind) {
      case MissionKind::GoTo:
        w_.mission.text = "go to the " + name;
        break;
      case MissionKind::PickUp:
        w_.mission.text = "pick up the " + name;
        break;
      case MissionKind::Open:
        w_.mission.text = "open the " + name;
        break;
      case MissionKind::PutNext:
        w_.mission.text = fmt::format("put the {} next to the {} {}", name, next_to.color,
                                      kind_word(next_to.kind));
        break;
    }
  }

  SeededRandom rng_;
  GridWorld w_;
  GridPoint door_{};
  std::vector<GridPoint> reserved_;
};

}  // namespace

const std::vector<std::string>& babyai_level_names() {
  static const std::vector<std::string> names = {
      "GoToRedBall",  "GoToRedBallNoDists", "GoToObj", "GoToLocal", "PickupLoc",
      "PutNextLocal", "GoToDoor",           "Open",    "Unlock",    "UnlockPickup"};
  return names;
}

GridWorld generate_babyai_world(int64_t task) {
  TESSERA_CHECK_INPUT(task >= 0, "babyai: task must be >= 0, got {}", task);
  return LevelBuilder(task).build(task);
}

GridPoint GridWorld::front() const {
  return {agent.x + kDirections[dir].x, agent.y + kDirections[dir].y};
}

bool GridWorld::turn_left() {
  dir = (dir + 3) % 4;
  return true;
}

bool GridWorld::turn_right() {
  dir = (dir + 1) % 4;
  return true;
}

bool GridWorld::forward() {
  GridPoint f = front();
  if (!inside(f)) return false;
  const GridCell& cell = at(f);
  if (cell.kind == CellKind::Empty ||
      (cell.kind == CellKind::Door && cell.door == DoorState::Open)) {
    agent = f;
    return true;
  }
  return false;
}

bool GridWorld::pickup() {
  GridPoint f = front();
  if (carrying || !inside(f)) return false;
  GridCell& cell = at(f);
  if (cell.kind != CellKind::Key && cell.kind != CellKind::Ball && cell.kind != CellKind::Box)
    return false;
  carrying = cell;
  cell = GridCell{};
  return true;
}

bool GridWorld::drop() {
  GridPoint f = front();
  if (!carrying || !inside(f) || at(f).kind != CellKind::Empty) return false;
  at(f) = *carrying;
  carrying.reset();
  return true;
}

bool GridWorld::toggle() {
  GridPoint f = front();
  if (!inside(f)) return false;
  GridCell& cell = at(f);
  if (cell.kind != CellKind::Door) return false;
  if (cell.door == DoorState::Locked) {
    if (!carrying || carrying->kind != CellKind::Key || carrying->color != cell.color) return false;
    cell.door = DoorState::Open;
  } else {
    cell.door = cell.door == DoorState::Open ? DoorState::Closed : DoorState::Open;
  }
  return true;
}

bool GridWorld::mission_done() const {
  auto matches = [](const GridCell& cell, const GridCell& wanted) {
    return cell.kind == wanted.kind && cell.color == wanted.color;
  };
  switch (mission.kind) {
    case MissionKind::GoTo: {
      GridPoint f = front();
      return inside(f) && matches(at(f), mission.target);
    }
    case MissionKind::PickUp:
      return carrying && matches(*carrying, mission.target);
    case MissionKind::Open:
      return std::any_of(cells.begin(), cells.end(), [&](const GridCell& c) {
        return matches(c, mission.target) && c.door == DoorState::Open;
      });
    case MissionKind::PutNext: {
      if (carrying && matches(*carrying, mission.target)) return false;
      for (int y = 0; y < height; ++y) {
        for (int x = 0; x < width; ++x) {
          if (!matches(at({x, y}), mission.target)) continue;
          for (const auto& d : kDirections) {
            GridPoint n{x + d.x, y + d.y};
            if (inside(n) && matches(at(n), mission.next_to)) return true;
          }
        }
      }
      return false;
    }
  }
  return false;
}

}  // namespace tessera::agents
