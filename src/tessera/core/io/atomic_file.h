#pragma once
// Writing a file so that readers only ever see the old file or the complete new one: bytes go
// to `<path>.tmp-<pid>`, are flushed to disk (fsync), and the temporary is renamed over `path`.
// A crash or an exception part-way leaves `path` untouched; the destructor removes the
// temporary unless commit() ran.
#include <cstddef>
#include <string>

namespace tessera::io {

class AtomicFileWriter {
 public:
  // Creates the temporary file; throws BadInput naming `path` if its folder is not writable.
  explicit AtomicFileWriter(std::string path);
  ~AtomicFileWriter();
  AtomicFileWriter(const AtomicFileWriter&) = delete;
  AtomicFileWriter& operator=(const AtomicFileWriter&) = delete;

  void write(const void* data, size_t nbytes);
  void write(const std::string& bytes) { write(bytes.data(), bytes.size()); }
  // fsyncs the data, renames the temporary over the target and fsyncs the folder, so that the
  // rename itself survives a power cut.
  void commit();

  const std::string& path() const { return path_; }
  const std::string& temporary_path() const { return temporary_path_; }

 private:
  std::string path_;
  std::string temporary_path_;
  int fd_ = -1;
  bool committed_ = false;
};

}  // namespace tessera::io
