#pragma once
// What every fuzz target asserts: a parser either succeeds or throws a BadInput
// tessera::Error. Anything else (a Runtime error, another exception type, a sanitizer report,
// a broken round trip) aborts, which libFuzzer records as a crash with its input.
#include <cstdio>
#include <cstdlib>
#include <functional>

#include "tessera/core/error.h"

namespace tessera::fuzz {

[[noreturn]] inline void fail(const char* what) {
  std::fprintf(stderr, "fuzz invariant broken: %s\n", what);
  std::abort();
}

inline void check(bool condition, const char* what) {
  if (!condition) fail(what);
}

// Runs `action`; BadInput is an accepted outcome, any other tessera::Error is a bug.
inline bool succeeds(const std::function<void()>& action) {
  try {
    action();
    return true;
  } catch (const Error& e) {
    if (e.kind() != ErrorKind::BadInput) {
      std::fprintf(stderr, "runtime error instead of BadInput: %s\n", e.what());
      std::abort();
    }
    return false;
  }
}

}  // namespace tessera::fuzz
