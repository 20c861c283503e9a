// The TextCraft expert: plans the whole crafting tree from the current inventory (fetch base
// items, craft intermediate items as many times as their output counts require, pick a kind
// for each generic ingredient) and plays the plan's first action.
#include <fmt/format.h>

#include <map>

#include "tessera/agents/experts.h"
#include "tessera/agents/textcraft.h"
#include "tessera/core/error.h"

namespace tessera::agents {

namespace {

struct PlannedAction {
  std::string action;
  std::string thought;
};

class CraftPlanner {
 public:
  CraftPlanner(const CraftWorld& world, std::map<std::string, int> inventory)
      : world_(world), inventory_(std::move(inventory)) {}

  std::vector<PlannedAction> plan() {
    obtain(world_.goal, 1, "the goal", 0);
    return actions_;
  }

 private:
  // A kind of `tag` to use: the one already held most, else the first.
  std::string pick_member(const std::string& tag) const {
    const auto& members = world_.tag_members.at(tag);
    std::string best = members.front();
    int best_count = -1;
    for (const auto& member : members) {
      int have = inventory_.count(member) ? inventory_.at(member) : 0;
      if (have > best_count) {
        best = member;
        best_count = have;
      }
    }
    return best;
  }

  void obtain(const std::string& item, int needed, const std::string& purpose, int depth) {
    TESSERA_CHECK(depth < 64, "textcraft expert: recipe chain too deep at {}", item);
    int have = inventory_[item];
    if (have >= needed) return;
    if (world_.is_base(item)) {
      int missing = needed - have;
      actions_.push_back(
          {fmt::format("get {} {}", missing, item),
           fmt::format("I need {} {} for {}. It is a base material, not a crafted one, so I "
                       "can get it directly.",
                       needed, item, purpose)});
      inventory_[item] += missing;
      return;
    }
    const auto recipes = world_.recipes.find(item);
    TESSERA_CHECK(recipes != world_.recipes.end(), "textcraft expert: no recipe for {}", item);
    const CraftRecipe& recipe = recipes->second.front();
    while (inventory_[item] < needed) {
      std::vector<CraftIngredient> concrete = recipe.inputs;
      for (auto& ingredient : concrete) {
        if (ingredient.is_tag) {
          ingredient.name = pick_member(ingredient.name);
          ingredient.is_tag = false;
        }
      }
      // Gathering one ingredient can use up another (shared base items), so repeat until
      // one pass changes nothing.
      for (int pass = 0; pass < 8; ++pass) {
        size_t before = actions_.size();
        for (const auto& ingredient : concrete)
          obtain(ingredient.name, ingredient.count, item, depth + 1);
        if (actions_.size() == before) break;
      }
      std::string action = fmt::format("craft {} {} using ", recipe.output_count, item);
      for (size_t i = 0; i < concrete.size(); ++i) {
        action += fmt::format("{}{} {}", i ? ", " : "", concrete[i].count, concrete[i].name);
        inventory_[concrete[i].name] -= concrete[i].count;
      }
      inventory_[item] += recipe.output_count;
      bool is_goal = item == world_.goal;
      actions_.push_back(
          {action,
           is_goal
               ? fmt::format("I have every ingredient the recipe \"{}\" asks for, so I can craft "
                             "{}, which is the goal.",
                             recipe.text(), item)
               : fmt::format(
                     "I have the ingredients for \"{}\". Crafting {} brings me closer to {}.",
                     recipe.text(), item, purpose)});
    }
  }

  const CraftWorld& world_;
  std::map<std::string, int> inventory_;
  std::vector<PlannedAction> actions_;
};

class TextCraftExpert : public Expert {
 public:
  ExpertMove next(const Environment& env) override {
    const auto* craft = dynamic_cast<const TextCraftEnvironment*>(&env);
    TESSERA_CHECK(craft != nullptr, "textcraft expert: not a textcraft environment");
    std::map<std::string, int> inventory;
    for (const auto& [item, count] : craft->inventory()) inventory[item] = count;
    auto plan = CraftPlanner(craft->world(), inventory).plan();
    TESSERA_CHECK(!plan.empty(), "textcraft expert: nothing left to do");
    return {plan.front().thought, plan.front().action};
  }
};

}  // namespace

std::unique_ptr<Expert> make_textcraft_expert() {
  return std::make_unique<TextCraftExpert>();
}

}  // namespace tessera::agents
