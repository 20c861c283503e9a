#include "tessera/agents/weather.h"

#include <fmt/format.h>

#include <strings.h>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <optional>

#include "tessera/agents/seeded_random.h"
#include "tessera/core/error.h"

namespace tessera::agents {

namespace {

using Json = nlohmann::ordered_json;

struct City {
  const char* name;
  double latitude;
  double longitude;
  const char* country_code;
  int elevation;
};
const std::vector<City> kCities = {
    {"Lisbon", 38.71667, -9.13333, "PT", 45},    {"Osaka", 34.69374, 135.50218, "JP", 12},
    {"Quito", -0.22985, -78.52495, "EC", 2850},  {"Tallinn", 59.43696, 24.75353, "EE", 32},
    {"Accra", 5.55602, -0.1969, "GH", 61},       {"Perth", -31.95224, 115.8614, "AU", 20},
    {"Denver", 39.73915, -104.9847, "US", 1609}, {"Cairo", 30.06263, 31.24967, "EG", 23},
    {"Oslo", 59.91273, 10.74609, "NO", 23},      {"Lima", -12.04318, -77.02824, "PE", 154}};

// Dates as days since 1970-01-01 and back.
std::optional<int64_t> parse_date(const std::string& text) {
  int y = 0;
  unsigned m = 0, d = 0;
  if (std::sscanf(text.c_str(), "%4d-%2u-%2u", &y, &m, &d) != 3 || text.size() != 10)
    return std::nullopt;
  std::chrono::year_month_day date{std::chrono::year{y}, std::chrono::month{m},
                                   std::chrono::day{d}};
  if (!date.ok()) return std::nullopt;
  return std::chrono::sys_days(date).time_since_epoch().count();
}
std::string format_date(int64_t days) {
  std::chrono::year_month_day date{std::chrono::sys_days{std::chrono::days{days}}};
  return fmt::format("{:04d}-{:02d}-{:02d}", static_cast<int>(date.year()),
                     static_cast<unsigned>(date.month()), static_cast<unsigned>(date.day()));
}

double round_to(double value, int digits) {
  double scale = std::pow(10.0, digits);
  return std::round(value * scale) / scale;
}

// Deterministic weather for a place (rounded to 0.1 degree) and a day.
struct Day {
  double max, min, mean, rain, snow, aqi;
};
Day weather_on(double latitude, double longitude, int64_t day) {
  uint64_t place =
      static_cast<uint64_t>(std::llround(latitude * 10) * 7919 + std::llround(longitude * 10));
  SeededRandom rng(place * 0x9e3779b97f4a7c15ull ^
                   static_cast<uint64_t>(day) * 0xbf58476d1ce4e5b9ull);
  // Warmer near the equator, a yearly cycle with the season flipped south of it.
  double season = std::cos(2.0 * M_PI * (static_cast<double>(day % 365) - 196.0) / 365.0);
  double base = 27.0 - 0.45 * std::abs(latitude) +
                (latitude >= 0 ? 1 : -1) * 9.0 * season * std::min(1.0, std::abs(latitude) / 30.0);
  double mean = round_to(base + (rng.uniform() - 0.5) * 6.0, 1);
  double spread = 3.0 + rng.uniform() * 5.0;
  Day out;
  out.mean = mean;
  out.max = round_to(mean + spread / 2, 1);
  out.min = round_to(mean - spread / 2, 1);
  out.rain = rng.chance(0.4) ? round_to(rng.uniform() * 18.0, 1) : 0.0;
  out.snow = mean < 1.0 && rng.chance(0.5) ? round_to(rng.uniform() * 6.0, 2) : 0.0;
  out.aqi = round_to(5.0 + rng.uniform() * 110.0, 1);
  return out;
}

std::string air_quality_level(double index) {
  if (index <= 20) return "good";
  if (index <= 40) return "fair";
  if (index <= 60) return "moderate";
  if (index <= 80) return "poor";
  if (index <= 100) return "very poor";
  return "extremely poor";
}

double distance_km(double lat1, double lon1, double lat2, double lon2) {
  auto radians = [](double degrees) { return degrees * M_PI / 180.0; };
  double dlat = radians(lat2 - lat1), dlon = radians(lon2 - lon1);
  double a = std::pow(std::sin(dlat / 2), 2) +
             std::cos(radians(lat1)) * std::cos(radians(lat2)) * std::pow(std::sin(dlon / 2), 2);
  return 6371.0 * 2 * std::atan2(std::sqrt(a), std::sqrt(1 - a));
}

}  // namespace

std::vector<std::string> WeatherEnvironment::tool_names() const {
  return {"get_user_current_date",
          "get_user_current_location",
          "get_historical_temp",
          "get_historical_rain",
          "get_historical_snow",
          "get_snow_forecast",
          "get_current_snow",
          "get_current_temp",
          "get_latitude_longitude",
          "get_elevation",
          "get_temp_forecast",
          "get_rain_forecast",
          "get_current_rain",
          "get_distance",
          "get_historical_air_quality_index",
          "get_current_air_quality_index",
          "get_air_quality_level",
          "check_valid_actions",
          "finish"};
}

std::pair<bool, Json> WeatherEnvironment::call_tool(const std::string& name, const Json& input) {
  auto tools = tool_names();
  if (std::find(tools.begin(), tools.end(), name) == tools.end()) {
    throw ToolFailure{fmt::format("Invalid action: {}.", name)};
  }
  auto number = [&](const char* key) {
    const Json& value = required(input, key);
    if (value.is_number()) return value.get<double>();
    if (value.is_string()) {
      try {
        return std::stod(value.get<std::string>());
      } catch (const std::exception&) {
      }
    }
    throw ToolFailure{fmt::format("ValueError('{} must be a number')", key)};
  };
  auto date = [&](const char* key) {
    const Json& value = required(input, key);
    auto parsed = value.is_string() ? parse_date(value.get<std::string>()) : std::nullopt;
    if (!parsed)
      throw ToolFailure{
          fmt::format("ValueError('{} must be a date in the format YYYY-MM-DD')", key)};
    return *parsed;
  };
  int64_t today = *parse_date(current_date_);
  if (name == "get_user_current_date") return {true, current_date_};
  if (name == "get_user_current_location") return {true, current_location_};
  if (name == "get_latitude_longitude") {
    std::string wanted =
        required(input, "name").is_string() ? required(input, "name").get<std::string>() : "";
    Json results = Json::array();
    for (const auto& city : kCities) {
      if (strcasecmp(city.name, wanted.c_str()) == 0) {
        results.push_back({{"name", city.name},
                           {"latitude", city.latitude},
                           {"longitude", city.longitude},
                           {"country_code", city.country_code}});
      }
    }
    return {true, Json{{"results", results}}};
  }
  if (name == "get_distance") {
    return {true, round_to(distance_km(number("latitude1"), number("longitude1"),
                                       number("latitude2"), number("longitude2")),
                           2)};
  }
  if (name == "get_air_quality_level")
    return {true, air_quality_level(number("air_quality_index"))};
  double latitude = number("latitude"), longitude = number("longitude");
  if (name == "get_elevation") {
    for (const auto& city : kCities) {
      if (distance_km(latitude, longitude, city.latitude, city.longitude) < 50)
        return {true, Json{{"elevation", {city.elevation * 1.0}}}};
    }
    return {true, Json{{"elevation", {0.0}}}};
  }
  // Date range: historical tools need dates before today, forecasts after; 30 days at most.
  int64_t start = 0, end = 0;
  bool historical = name.find("historical") != std::string::npos;
  bool forecast = name.find("forecast") != std::string::npos;
  if (historical || forecast) {
    start = date("start_date");
    end = date("end_date");
    if (historical && start >= today)
      return {false, "Error: start_date should be earlier than current_date"};
    if (historical && end >= today)
      return {false, "Error: end_date should be earlier than current_date"};
    if (forecast && start <= today)
      return {false, "Error: start_date should be later than current_date"};
    if (forecast && end <= today)
      return {false, "Error: end_date should be later than current_date"};
    if (end < start || end - start > 30) {
      return {false,
              "Error: Sorry, at present, we support a maximum time span of 30 days between "
              "start_date and "
              "end_date in a single query. Your input exceeds this range. You can split your "
              "current query "
              "into multiple sub-queries that meet our criteria."};
    }
  } else {
    start = end = date("current_date");
  }
  Json times = Json::array(), a = Json::array(), b = Json::array(), c = Json::array();
  for (int64_t day = start; day <= end; ++day) {
    Day w = weather_on(latitude, longitude, day);
    times.push_back(format_date(day));
    if (name.find("temp") != std::string::npos) {
      a.push_back(w.max);
      b.push_back(w.min);
      c.push_back(w.mean);
    } else if (name.find("rain") != std::string::npos) {
      a.push_back(w.rain);
    } else if (name.find("snow") != std::string::npos) {
      a.push_back(w.snow);
    } else {
      a.push_back(w.aqi);
    }
  }
  Json result = {{"latitude", round_to(latitude, 4)}, {"longitude", round_to(longitude, 4)}};
  if (name.find("temp") != std::string::npos) {
    result["daily_units"] = {{"time", "iso8601"},
                             {"temperature_2m_max", "°C"},
                             {"temperature_2m_min", "°C"},
                             {"temperature_2m_mean", "°C"}};
    result["daily"] = {{"time", times},
                       {"temperature_2m_max", a},
                       {"temperature_2m_min", b},
                       {"temperature_2m_mean", c}};
  } else if (name.find("rain") != std::string::npos) {
    result["daily_units"] = {{"time", "iso8601"}, {"rain_sum", "mm"}};
    result["daily"] = {{"time", times}, {"rain_sum", a}};
  } else if (name.find("snow") != std::string::npos) {
    result["daily_units"] = {{"time", "iso8601"}, {"snowfall_sum", "cm"}};
    result["daily"] = {{"time", times}, {"snowfall_sum", a}};
  } else {
    result["daily_units"] = {{"time", "iso8601"}, {"european_aqi_pm2_5", "EAQI"}};
    result["daily"] = {{"time", times}, {"european_aqi_pm2_5", a}};
  }
  return {true, result};
}

ToolTask WeatherEnvironment::make_task(int64_t task) {
  TESSERA_CHECK_INPUT(task >= 0, "weather: task must be >= 0, got {}", task);
  SeededRandom rng(0x3ea7e5ull ^ (static_cast<uint64_t>(task) * 0x9e3779b97f4a7c15ull));
  int64_t today = *parse_date("2024-03-01") + rng.randint(0, 200);
  current_date_ = format_date(today);
  const City& home =
      kCities[static_cast<size_t>(rng.randint(0, static_cast<int64_t>(kCities.size())))];
  current_location_ = home.name;
  const City& city =
      kCities[static_cast<size_t>(rng.randint(0, static_cast<int64_t>(kCities.size())))];
  const City& other =
      kCities[static_cast<size_t>(rng.randint(0, static_cast<int64_t>(kCities.size())))];
  Json where = {{"latitude", city.latitude}, {"longitude", city.longitude}};
  auto with = [](Json base, const Json& extra) {
    for (const auto& [k, v] : extra.items()) base[k] = v;
    return base;
  };
  ToolTask out;
  out.solution = {{"get_latitude_longitude", {{"name", city.name}}}};
  Json answer;
  switch (rng.randint(0, 7)) {
    case 0: {
      int64_t day = today - rng.randint(1, 20);
      out.goal =
          fmt::format("What was the lowest temperature in {} on {}? ", city.name, format_date(day));
      out.solution.push_back(
          {"get_historical_temp",
           with(where, {{"start_date", format_date(day)}, {"end_date", format_date(day)}})});
      answer = weather_on(city.latitude, city.longitude, day).min;
      break;
    }
    case 1: {
      int64_t day = today + rng.randint(1, 10);
      out.goal = fmt::format("What will the highest temperature be in {} on {}? ", city.name,
                             format_date(day));
      out.solution.push_back({"get_temp_forecast", with(where, {{"start_date", format_date(day)},
                                                                {"end_date", format_date(day)}})});
      answer = weather_on(city.latitude, city.longitude, day).max;
      break;
    }
    case 2: {
      int64_t first = today - rng.randint(8, 25), last = first + rng.randint(2, 7);
      out.goal = fmt::format(
          "How much rain fell in {} in total from {} to {}? Answer in mm, rounded to one decimal. ",
          city.name, format_date(first), format_date(last));
      out.solution.push_back(
          {"get_historical_rain",
           with(where, {{"start_date", format_date(first)}, {"end_date", format_date(last)}})});
      double sum = 0;
      for (int64_t day = first; day <= last; ++day)
        sum += weather_on(city.latitude, city.longitude, day).rain;
      answer = round_to(sum, 1);
      break;
    }
    case 3: {
      out.goal = "What is the average temperature today where I am? ";
      Json here = {{"latitude", home.latitude}, {"longitude", home.longitude}};
      out.solution = {{"get_user_current_location", Json::object()},
                      {"get_latitude_longitude", {{"name", home.name}}},
                      {"get_user_current_date", Json::object()},
                      {"get_current_temp", with(here, {{"current_date", current_date_}})}};
      answer = weather_on(home.latitude, home.longitude, today).mean;
      break;
    }
    case 4: {
      out.goal = fmt::format("How far is it from {} to {} in kilometers? ", city.name, other.name);
      out.solution.push_back({"get_latitude_longitude", {{"name", other.name}}});
      out.solution.push_back({"get_distance",
                              {{"latitude1", city.latitude},
                               {"longitude1", city.longitude},
                               {"latitude2", other.latitude},
                               {"longitude2", other.longitude}}});
      answer =
          round_to(distance_km(city.latitude, city.longitude, other.latitude, other.longitude), 2);
      break;
    }
    case 5: {
      out.goal = fmt::format("What is the elevation of {} in meters? ", city.name);
      out.solution.push_back({"get_elevation", where});
      answer = city.elevation * 1.0;
      break;
    }
    default: {
      out.goal = fmt::format("What is the air quality level in {} today? ", city.name);
      double index = weather_on(city.latitude, city.longitude, today).aqi;
      out.solution.push_back({"get_user_current_date", Json::object()});
      out.solution.push_back(
          {"get_current_air_quality_index", with(where, {{"current_date", current_date_}})});
      out.solution.push_back({"get_air_quality_level", {{"air_quality_index", index}}});
      answer = air_quality_level(index);
      break;
    }
  }
  out.solution.push_back({"finish", {{"answer", answer}}});
  out.subgoals = {answer};
  out.final_state = Json::object();
  return out;
}

}  // namespace tessera::agents
