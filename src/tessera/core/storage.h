#pragma once
// Raw tensor memory: 64-byte aligned heap blocks, or read-only views of a memory-mapped file
// (weights are used in place, never copied, when their dtype already matches).
#include <cstddef>
#include <memory>
#include <string>

namespace tessera {

enum class Device : uint8_t { cpu, cuda };

class Storage {
 public:
  // Uninitialised, 64-byte aligned memory of at least nbytes (nbytes may be 0).
  static std::shared_ptr<Storage> allocate(size_t nbytes);
  // Memory owned by someone else (a mapped file, a buffer); `owner` keeps it alive.
  static std::shared_ptr<Storage> wrap(void* data, size_t nbytes, std::shared_ptr<const void> owner,
                                       bool read_only);
  ~Storage();
  Storage(const Storage&) = delete;
  Storage& operator=(const Storage&) = delete;

  void* data() { return data_; }
  const void* data() const { return data_; }
  size_t nbytes() const { return nbytes_; }
  bool read_only() const { return read_only_; }
  Device device() const { return Device::cpu; }

 private:
  Storage() = default;
  void* data_ = nullptr;
  size_t nbytes_ = 0;
  bool read_only_ = false;
  bool owns_ = false;
  std::shared_ptr<const void> owner_;
};

// A whole file mapped read-only. Throws BadInput naming the path if it cannot be opened.
class MappedFile {
 public:
  static std::shared_ptr<MappedFile> open(const std::string& path);
  ~MappedFile();
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;
  const uint8_t* data() const { return data_; }
  size_t size() const { return size_; }
  const std::string& path() const { return path_; }

 private:
  MappedFile() = default;
  const uint8_t* data_ = nullptr;
  size_t size_ = 0;
  std::string path_;
};

}  // namespace tessera
