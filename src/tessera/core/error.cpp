#include "tessera/core/error.h"

namespace tessera {

Error::Error(ErrorKind kind, std::string message)
    : std::runtime_error(std::move(message)), kind_(kind) {}

Error Error::with_context(const std::string& context) const {
  return Error(kind_, context + ": " + what());
}

}  // namespace tessera
