#include "tessera/agents/server_routes.h"

#include <charconv>

#include "tessera/core/error.h"

namespace tessera::agents::routes {

namespace {

nlohmann::json missing(const std::string& where, const std::string& field,
                       const nlohmann::json& input) {
  return {
      {"type", "missing"}, {"loc", {where, field}}, {"msg", "Field required"}, {"input", input}};
}

// pydantic's lax integers: JSON integers, integral floats, and strings of digits.
std::optional<int64_t> as_integer(const nlohmann::json& value) {
  if (value.is_number_integer()) return value.get<int64_t>();
  if (value.is_number_float()) {
    double d = value.get<double>();
    if (d == static_cast<double>(static_cast<int64_t>(d))) return static_cast<int64_t>(d);
    return std::nullopt;
  }
  if (value.is_string()) {
    const std::string& text = value.get_ref<const std::string&>();
    int64_t parsed = 0;
    auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), parsed);
    if (error == std::errc() && end == text.data() + text.size() && !text.empty()) return parsed;
  }
  return std::nullopt;
}

nlohmann::json int_error(const std::string& where, const std::string& field,
                         const nlohmann::json& input) {
  return {{"type", "int_parsing"},
          {"loc", {where, field}},
          {"msg", "Input should be a valid integer, unable to parse string as an integer"},
          {"input", input}};
}

void send_json(httplib::Response& response, int status, const nlohmann::json& body) {
  response.status = status;
  response.set_content(body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace),
                       "application/json");
}

}  // namespace

std::optional<int64_t> Request::optional_body_int(const std::string& field) const {
  if (!body.is_object() || !body.contains(field) || body[field].is_null()) return std::nullopt;
  auto value = as_integer(body[field]);
  if (!value) throw ValidationError{{int_error("body", field, body[field])}};
  return value;
}

int64_t Request::body_int(const std::string& field) const {
  if (!body.is_object() || !body.contains(field))
    throw ValidationError{{missing("body", field, body)}};
  auto value = optional_body_int(field);
  if (!value) throw ValidationError{{int_error("body", field, body[field])}};
  return *value;
}

std::optional<std::string> Request::optional_body_string(const std::string& field) const {
  if (!body.is_object() || !body.contains(field) || body[field].is_null()) return std::nullopt;
  if (!body[field].is_string()) {
    throw ValidationError{{{{"type", "string_type"},
                            {"loc", {"body", field}},
                            {"msg", "Input should be a valid string"},
                            {"input", body[field]}}}};
  }
  return body[field].get<std::string>();
}

std::string Request::body_string(const std::string& field) const {
  if (!body.is_object() || !body.contains(field))
    throw ValidationError{{missing("body", field, body)}};
  auto value = optional_body_string(field);
  if (!value) throw ValidationError{{missing("body", field, body)}};
  return *value;
}

int64_t Request::query_int(const std::string& name) const {
  if (!http.has_param(name.c_str())) throw ValidationError{{missing("query", name, nullptr)}};
  std::string text = http.get_param_value(name.c_str());
  auto value = as_integer(nlohmann::json(text));
  if (!value) throw ValidationError{{int_error("query", name, text)}};
  return *value;
}

void Router::post(const std::string& path, Handler handler, bool body_required) {
  server_.Post(path, [this, handler = std::move(handler), body_required](
                         const httplib::Request& http, httplib::Response& response) {
    handle(http, response, handler, true, body_required);
  });
}

void Router::get(const std::string& path, Handler handler) {
  server_.Get(path, [this, handler = std::move(handler)](const httplib::Request& http,
                                                         httplib::Response& response) {
    handle(http, response, handler, false, false);
  });
}

void Router::handle(const httplib::Request& http, httplib::Response& response,
                    const Handler& handler, bool is_post, bool body_required) {
  try {
    Request request{http, nullptr};
    if (is_post && !(http.body.empty() && !body_required)) {
      request.body = nlohmann::json::parse(http.body, nullptr, false);
      if (request.body.is_discarded()) {
        send_json(response, 422,
                  {{"detail",
                    {{{"type", "json_invalid"},
                      {"loc", {"body", 0}},
                      {"msg", "JSON decode error"},
                      {"input", nlohmann::json::object()},
                      {"ctx", {{"error", "Expecting value"}}}}}}});
        return;
      }
      if (body_required && !request.body.is_object()) {
        send_json(
            response, 422,
            {{"detail",
              {{{"type", "model_attributes_type"},
                {"loc", {"body"}},
                {"msg", "Input should be a valid dictionary or object to extract fields from"},
                {"input", request.body}}}}});
        return;
      }
    }
    send_json(response, 200, handler(request));
  } catch (const Reply& reply) {
    send_json(response, reply.status, reply.body);
  } catch (const ValidationError& e) {
    send_json(response, 422, {{"detail", e.detail}});
  } catch (const EnvError& e) {
    send_json(response, 200, {{"error", e.what()}});
  } catch (const SessionLimitError& e) {
    send_json(response, 503, {{"error", e.what()}});
  } catch (const Error& e) {
    // Environment-level bad input (a task id out of range, stepping a finished episode) is
    // an upstream-style error object; anything else is the server's fault.
    send_json(response, e.kind() == ErrorKind::BadInput ? 200 : 500, {{"error", e.what()}});
  } catch (const std::exception& e) {
    send_json(response, 500, {{"error", e.what()}});
  }
}

}  // namespace tessera::agents::routes
