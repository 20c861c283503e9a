#pragma once
// One error type for the whole engine. Bad input (a corrupt file, a wrong shape, a missing
// key) and internal failures are told apart because the CLI maps them to exit codes 2 and 1.
#include <fmt/format.h>

#include <stdexcept>
#include <string>

namespace tessera {

enum class ErrorKind { BadInput, Runtime };

class Error : public std::runtime_error {
 public:
  Error(ErrorKind kind, std::string message);
  ErrorKind kind() const { return kind_; }
  int exit_code() const { return kind_ == ErrorKind::BadInput ? 2 : 1; }
  // Returns a copy whose message starts with `context: ` (e.g. the file being read), so a
  // low-level "offset out of range" becomes "model.safetensors: tensor w: offset out of range".
  Error with_context(const std::string& context) const;

 private:
  ErrorKind kind_;
};

// Builds a BadInput error from a fmt format string.
template <typename... Args>
Error bad_input(fmt::format_string<Args...> format, Args&&... args) {
  return Error(ErrorKind::BadInput, fmt::format(format, std::forward<Args>(args)...));
}

// Builds a Runtime error (a broken invariant or a system failure) from a fmt format string.
template <typename... Args>
Error runtime_error(fmt::format_string<Args...> format, Args&&... args) {
  return Error(ErrorKind::Runtime, fmt::format(format, std::forward<Args>(args)...));
}

}  // namespace tessera

// Checks a condition on user-supplied data; throws BadInput with the formatted message.
#define TESSERA_CHECK_INPUT(cond, ...)                  \
  do {                                                  \
    if (!(cond)) throw ::tessera::bad_input(__VA_ARGS__); \
  } while (0)

// Checks an argument or internal invariant (a programming error by the caller).
#define TESSERA_CHECK(cond, ...)                            \
  do {                                                      \
    if (!(cond)) throw ::tessera::runtime_error(__VA_ARGS__); \
  } while (0)
