#pragma once
// Shared by the data_*_test.cpp files: scratch folders, file bytes, a byte-per-token encoder
// (so dataset tests do not depend on a tokenizer's merges) and a BadInput expectation.
#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "tessera/core/error.h"
#include "tessera/train/data_build.h"

namespace tessera::train::testing {

class ScratchDir {
 public:
  ScratchDir() {
    static std::atomic<int> counter{0};
    path_ = std::filesystem::temp_directory_path() /
            ("tessera-train-test-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
    std::filesystem::remove_all(path_);
    std::filesystem::create_directories(path_);
  }
  ~ScratchDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;
  std::string file(const std::string& name) const { return (path_ / name).string(); }
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

inline void write_bytes(const std::string& path, const std::string& bytes) {
  std::filesystem::create_directories(std::filesystem::path(path).parent_path());
  std::ofstream out(path, std::ios::binary);
  out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  ASSERT_TRUE(out.good()) << path;
}

inline std::string read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return std::move(text).str();
}

// Every regular file under `folder` (relative name -> bytes), for byte-identity checks.
inline std::map<std::string, std::string> folder_contents(const std::filesystem::path& folder) {
  std::map<std::string, std::string> files;
  for (const auto& entry : std::filesystem::recursive_directory_iterator(folder)) {
    if (entry.is_regular_file()) {
      files[std::filesystem::relative(entry.path(), folder).string()] =
          read_bytes(entry.path().string());
    }
  }
  return files;
}

// Token id = byte value; 256 is the end-of-document id.
inline TokenEncoder byte_encoder() {
  TokenEncoder encoder;
  encoder.path = "bytes";
  encoder.sha256 = std::string(64, '0');
  encoder.vocab_size = 257;
  encoder.eos_token_id = 256;
  encoder.encode = [](std::string_view text, std::vector<int32_t>& ids) {
    for (unsigned char c : text) ids.push_back(c);
  };
  return encoder;
}

// Runs `fn`, expects a tessera::Error of kind BadInput whose message contains `fragment`.
inline void expect_bad_input(const std::function<void()>& fn, const std::string& fragment) {
  try {
    fn();
    ADD_FAILURE() << "expected BadInput containing \"" << fragment << "\", nothing was thrown";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::BadInput) << e.what();
    EXPECT_NE(std::string(e.what()).find(fragment), std::string::npos)
        << "message \"" << e.what() << "\" lacks \"" << fragment << "\"";
  }
}

}  // namespace tessera::train::testing
