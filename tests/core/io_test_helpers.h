#pragma once
// Shared by the io_*_test.cpp files: scratch folders, raw file bytes, and a check that an
// operation fails with BadInput (never a crash or another exception type).
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>
#include <string>
#include <vector>

#include "tessera/core/error.h"
#include "tessera/core/tensor.h"

namespace tessera::io::testing {

// A fresh folder under the system temp dir, removed with everything in it at scope exit.
class ScratchDir {
 public:
  ScratchDir() {
    static std::atomic<int> counter{0};
    path_ = std::filesystem::temp_directory_path() /
            ("tessera-io-test-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
    std::filesystem::remove_all(path_);
    std::filesystem::create_directories(path_);
  }
  ~ScratchDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  std::string file(const std::string& name) const { return (path_ / name).string(); }
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

inline void write_bytes(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  ASSERT_TRUE(out.good()) << path;
}

inline std::string read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// Little-endian bytes of an integer, `width` bytes wide.
inline std::string le_bytes(uint64_t value, int width) {
  std::string out;
  for (int i = 0; i < width; ++i) out += static_cast<char>((value >> (8 * i)) & 0xff);
  return out;
}

// Runs `action`, which must throw a BadInput tessera::Error; returns its message ("" and a
// test failure otherwise).
inline std::string bad_input_message(const std::function<void()>& action) {
  try {
    action();
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::BadInput) << e.what();
    return e.what();
  } catch (const std::exception& e) {
    ADD_FAILURE() << "expected a BadInput tessera::Error, got another exception: " << e.what();
    return "";
  }
  ADD_FAILURE() << "expected a BadInput error, nothing was thrown";
  return "";
}

// Element values of a tensor, read through a private copy so that these tests do not depend
// on whether Tensor::to_vector reads read-only (mapped) views in place (the first core commit
// refused that; reported to core).
template <typename T>
std::vector<T> values(const Tensor& tensor) {
  return tensor.clone().to_vector<T>();
}

}  // namespace tessera::io::testing
