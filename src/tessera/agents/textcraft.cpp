#include "tessera/agents/textcraft.h"

#include <fmt/format.h>

#include <algorithm>
#include <regex>
#include <set>

#include "tessera/agents/seeded_random.h"
#include "tessera/core/error.h"

namespace tessera::agents {

namespace {

// Word pools for generated item names: "<material> <base form>" for fetchable items,
// "[<material>] <product>" for crafted ones. Plain lowercase words, so every name survives
// AgentGym's client-side action cleaning (letters, digits, commas and spaces only).
const std::vector<std::string> kMaterials = {
    "oak",   "birch",  "spruce", "acacia",   "cedar",  "maple", "willow", "iron", "gold",  "copper",
    "tin",   "silver", "stone",  "granite",  "basalt", "clay",  "sand",   "wool", "linen", "quartz",
    "amber", "cobalt", "jade",   "obsidian", "coral",  "ivory", "bamboo", "reed", "flint", "slate"};
const std::vector<std::string> kBaseForms = {"log",  "ore",   "shard", "fiber",   "dust", "pebble",
                                             "hide", "resin", "seed",  "crystal", "bone", "nugget"};
const std::vector<std::string> kProducts = {
    "planks", "ingot",   "plate",   "rod",    "gear",    "lantern", "chest",  "sign",
    "door",   "fence",   "hinge",   "frame",  "pickaxe", "banner",  "bowl",   "barrel",
    "rope",   "brick",   "tile",    "boat",   "lamp",    "wheel",   "arrow",  "shield",
    "bucket", "compass", "clock",   "helmet", "ladder",  "loom",    "anvil",  "kiln",
    "sled",   "crate",   "spindle", "needle", "trowel",  "mallet",  "kettle", "easel"};

std::string item_id(const std::string& name) {
  std::string id = name;
  std::replace(id.begin(), id.end(), ' ', '_');
  return "minecraft:" + id;
}

class WorldBuilder {
 public:
  WorldBuilder(int64_t task, const TextCraftOptions& options)
      : rng_(0x7e47c4af7ull ^ (static_cast<uint64_t>(task) * 0x9e3779b97f4a7c15ull)),
        options_(options) {}

  CraftWorld build(int64_t task) {
    world_.depth = 1 + static_cast<int>(task % std::max(1, options_.max_depth));
    world_.goal = make_crafted(world_.depth);
    std::vector<std::string> lines;
    std::set<std::string> seen;
    for (const auto& recipe : tree_recipes_) {
      if (seen.insert(recipe.text()).second) lines.push_back(recipe.text());
    }
    add_distractors(lines, seen);
    rng_.shuffle(lines);
    world_.commands = lines;
    return world_;
  }

 private:
  std::string fresh_name(const std::vector<std::string>& firsts,
                         const std::vector<std::string>& seconds, bool allow_bare) {
    for (int attempt = 0; attempt < 1000; ++attempt) {
      std::string second = rng_.pick(seconds);
      std::string name =
          allow_bare && rng_.chance(0.35) ? second : rng_.pick(firsts) + " " + second;
      if (used_.insert(name).second) return name;
    }
    throw runtime_error("textcraft: ran out of item names");
  }

  std::string make_base() {
    std::string name = fresh_name(kMaterials, kBaseForms, false);
    world_.base_items.push_back(name);
    return name;
  }

  // An item whose cheapest chain of crafting steps is exactly `level` long.
  std::string make_crafted(int level) {
    std::string name = fresh_name(kMaterials, kProducts, true);
    add_recipe(name, level);
    return name;
  }

  void add_recipe(const std::string& output, int level) {
    CraftRecipe recipe;
    recipe.output = output;
    recipe.output_count = std::vector<int>{1, 1, 1, 2, 4}[static_cast<size_t>(rng_.randint(0, 5))];
    recipe.inputs.push_back(make_ingredient(level - 1));
    int extra = static_cast<int>(rng_.randint(0, 3));
    for (int i = 0; i < extra; ++i) {
      // Mostly base items, sometimes something crafted below this level.
      int sub_level = level >= 2 && rng_.chance(0.3) ? static_cast<int>(rng_.randint(1, level)) : 0;
      recipe.inputs.push_back(make_ingredient(sub_level));
    }
    world_.recipes[output].push_back(recipe);
    tree_recipes_.push_back(recipe);
  }

  CraftIngredient make_ingredient(int level) {
    CraftIngredient ingredient;
    if (level == 0) {
      ingredient.name = make_base();
      ingredient.count = static_cast<int>(rng_.randint(1, 5));
      return ingredient;
    }
    ingredient.count = static_cast<int>(rng_.randint(1, 3));
    if (rng_.chance(0.35)) {
      // A generic type: the recipe names the tag; two or three kinds of it are craftable.
      std::string tag;
      for (int attempt = 0; attempt < 100 && tag.empty(); ++attempt) {
        std::string candidate = rng_.pick(kProducts);
        if (!used_.count(candidate) && !world_.tag_members.count(candidate)) tag = candidate;
      }
      if (!tag.empty()) {
        used_.insert(tag);
        int members = static_cast<int>(rng_.randint(2, 4));
        for (int m = 0; m < members; ++m) {
          std::string member;
          for (int attempt = 0; attempt < 100 && member.empty(); ++attempt) {
            std::string candidate = rng_.pick(kMaterials) + " " + tag;
            if (used_.insert(candidate).second) member = candidate;
          }
          if (member.empty()) break;
          world_.tag_members[tag].push_back(member);
          world_.tag_of[member] = tag;
          add_recipe(member, level);
        }
        ingredient.name = tag;
        ingredient.is_tag = true;
        return ingredient;
      }
    }
    ingredient.name = make_crafted(level);
    return ingredient;
  }

  // Recipes that use the tree's ingredients for things the goal does not need (upstream
  // samples these from the other uses of each ingredient).
  void add_distractors(std::vector<std::string>& lines, std::set<std::string>& seen) {
    std::vector<CraftIngredient> ingredients;
    for (const auto& recipe : tree_recipes_) {
      for (const auto& input : recipe.inputs) ingredients.push_back(input);
    }
    rng_.shuffle(ingredients);
    int added = 0;
    for (const auto& ingredient : ingredients) {
      if (added >= options_.max_distractors) break;
      if (!rng_.chance(0.6)) continue;
      CraftRecipe recipe;
      recipe.output = fresh_name(kMaterials, kProducts, true);
      recipe.output_count = static_cast<int>(rng_.randint(1, 3));
      CraftIngredient used = ingredient;
      used.count = static_cast<int>(rng_.randint(1, 4));
      recipe.inputs.push_back(used);
      if (rng_.chance(0.5) && !world_.base_items.empty()) {
        recipe.inputs.push_back(
            {static_cast<int>(rng_.randint(1, 3)), rng_.pick(world_.base_items), false});
        if (recipe.inputs[1].name == recipe.inputs[0].name) recipe.inputs.pop_back();
      }
      world_.recipes[recipe.output].push_back(recipe);
      if (seen.insert(recipe.text()).second) {
        lines.push_back(recipe.text());
        ++added;
      }
    }
  }

  SeededRandom rng_;
  TextCraftOptions options_;
  CraftWorld world_;
  std::set<std::string> used_;
  std::vector<CraftRecipe> tree_recipes_;
};

// "4 oak planks" -> (4, "oak planks"); upstream's count regex, anchored at the start.
bool split_count(const std::string& text, int& count, std::string& rest) {
  static const std::regex pattern("([0-9]+) (.*)");
  std::smatch match;
  if (!std::regex_search(text, match, pattern, std::regex_constants::match_continuous))
    return false;
  try {
    count = std::stoi(match[1].str());
  } catch (const std::exception&) {
    return false;  // more digits than an int holds: not a count upstream could use either
  }
  rest = match[2].str();
  return true;
}

std::string trim(const std::string& text) {
  size_t begin = text.find_first_not_of(" \t\n\r\f\v");
  if (begin == std::string::npos) return "";
  size_t end = text.find_last_not_of(" \t\n\r\f\v");
  return text.substr(begin, end - begin + 1);
}

struct ActionFailed {
  std::string message;
};

}  // namespace

std::string CraftRecipe::text() const {
  std::string out = fmt::format("craft {} {} using ", output_count, output);
  for (size_t i = 0; i < inputs.size(); ++i) {
    out += fmt::format("{}{} {}", i ? ", " : "", inputs[i].count, inputs[i].name);
  }
  return out;
}

bool CraftWorld::is_base(const std::string& item) const {
  return std::find(base_items.begin(), base_items.end(), item) != base_items.end();
}

CraftWorld generate_craft_world(int64_t task, const TextCraftOptions& options) {
  TESSERA_CHECK_INPUT(task >= 0, "textcraft: task must be >= 0, got {}", task);
  return WorldBuilder(task, options).build(task);
}

std::string TextCraftEnvironment::commands_text() const {
  std::string text;
  for (const auto& line : world_.commands) text += (text.empty() ? "" : "\n") + line;
  return text;
}

std::string TextCraftEnvironment::reset(int64_t task) {
  world_ = generate_craft_world(task, options_);
  begin_episode(task);
  inventory_.clear();
  observation_ =
      fmt::format("Crafting commands:\n{}\n\nGoal: craft {}.", commands_text(), world_.goal);
  return observation_;
}

int TextCraftEnvironment::count_of(const std::string& item) const {
  for (const auto& [name, count] : inventory_) {
    if (name == item) return count;
  }
  return 0;
}

void TextCraftEnvironment::add(const std::string& item, int count) {
  for (auto& [name, have] : inventory_) {
    if (name == item) {
      have += count;
      return;
    }
  }
  inventory_.emplace_back(item, count);
}

std::string TextCraftEnvironment::craft(const std::string& output_text,
                                        const std::string& inputs_text, bool& reached_goal) {
  int requested = 1;
  std::string output = output_text;
  split_count(output_text, requested, output);
  std::vector<CraftIngredient> provided;
  size_t start = 0;
  while (true) {
    size_t comma = inputs_text.find(',', start);
    std::string piece = trim(
        inputs_text.substr(start, comma == std::string::npos ? std::string::npos : comma - start));
    CraftIngredient ingredient;
    if (!split_count(piece, ingredient.count, ingredient.name)) {
      throw ActionFailed{"Wrong item format: " + piece};
    }
    ingredient.is_tag = world_.is_tag(ingredient.name);
    provided.push_back(ingredient);
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  for (const auto& ingredient : provided) {
    if (ingredient.is_tag || count_of(ingredient.name) < ingredient.count) {
      throw ActionFailed{"Could not find enough items to craft " + item_id(output)};
    }
  }
  const CraftRecipe* matched = nullptr;
  auto recipes = world_.recipes.find(output);
  if (recipes != world_.recipes.end()) {
    for (const auto& recipe : recipes->second) {
      std::vector<CraftIngredient> left = provided;
      bool ok = true;
      for (const auto& wanted : recipe.inputs) {
        auto it = std::find_if(left.begin(), left.end(), [&](const CraftIngredient& have) {
          if (!wanted.is_tag) return have.name == wanted.name;
          auto tag = world_.tag_of.find(have.name);
          return have.name == wanted.name ||
                 (tag != world_.tag_of.end() && tag->second == wanted.name);
        });
        if (it == left.end() || it->count != wanted.count) {
          ok = false;
          break;
        }
        left.erase(it);
      }
      if (ok && left.empty()) {
        matched = &recipe;
        break;
      }
    }
  }
  if (!matched)
    throw ActionFailed{fmt::format("Could not find a valid recipe for {} {}", requested, output)};
  for (const auto& ingredient : provided) {
    for (auto it = inventory_.begin(); it != inventory_.end(); ++it) {
      if (it->first == ingredient.name) {
        it->second -= ingredient.count;
        if (it->second == 0) inventory_.erase(it);
        break;
      }
    }
  }
  add(matched->output, matched->output_count);
  reached_goal = matched->output == world_.goal;
  return fmt::format("Crafted {} {}", matched->output_count, item_id(matched->output));
}

StepResult TextCraftEnvironment::step(const std::string& action) {
  require_running();
  static const std::regex craft_pattern("craft (.*) using (.*)");
  static const std::regex get_pattern("get ([0-9]+) (.*)");
  StepResult result;
  try {
    std::smatch match;
    bool reached_goal = false;
    const auto anchored = std::regex_constants::match_continuous;
    if (std::regex_search(action, match, craft_pattern, anchored)) {
      result.observation = craft(match[1].str(), match[2].str(), reached_goal);
    } else if (std::regex_search(action, match, get_pattern, anchored)) {
      std::string item = match[2].str();
      int count = 0;
      try {
        count = std::stoi(match[1].str());
      } catch (const std::exception&) {
        throw ActionFailed{"Could not find " + item};
      }
      if (world_.is_craftable(item) || world_.is_tag(item) || !world_.is_base(item)) {
        throw ActionFailed{"Could not find " + item};
      }
      add(item, count);
      result.observation = fmt::format("Got {} {}", count, item);
    } else if (action.rfind("inventory", 0) == 0) {
      result.observation = "Inventory: ";
      if (inventory_.empty()) result.observation += "You are not carrying anything.";
      for (const auto& [item, count] : inventory_)
        result.observation += fmt::format("[{}] ({}) ", item, count);
    } else {
      throw ActionFailed{"Could not execute " + action};
    }
    if (reached_goal) {
      result.reward = 1.0;
      result.done = true;
    }
  } catch (const ActionFailed& failed) {
    result = {failed.message, 0.0, false};
  }
  observation_ = result.observation;
  record_step(result);
  return result;
}

}  // namespace tessera::agents
