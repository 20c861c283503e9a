#include "tessera/core/io/atomic_file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "tessera/core/error.h"

namespace tessera::io {

AtomicFileWriter::AtomicFileWriter(std::string path)
    : path_(std::move(path)), temporary_path_(path_ + ".tmp-" + std::to_string(::getpid())) {
  TESSERA_CHECK_INPUT(!path_.empty(), "cannot write a file with an empty path");
  fd_ = ::open(temporary_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd_ < 0) {
    throw bad_input("{}: cannot create {}: {}", path_, temporary_path_, std::strerror(errno));
  }
}

AtomicFileWriter::~AtomicFileWriter() {
  if (fd_ >= 0) ::close(fd_);
  if (!committed_) ::unlink(temporary_path_.c_str());
}

void AtomicFileWriter::write(const void* data, size_t nbytes) {
  TESSERA_CHECK(!committed_ && fd_ >= 0, "{}: write after commit", path_);
  const char* p = static_cast<const char*>(data);
  while (nbytes > 0) {
    ssize_t written = ::write(fd_, p, nbytes);
    if (written < 0) {
      if (errno == EINTR) continue;
      throw runtime_error("{}: write failed: {}", temporary_path_, std::strerror(errno));
    }
    p += written;
    nbytes -= static_cast<size_t>(written);
  }
}

void AtomicFileWriter::commit() {
  TESSERA_CHECK(!committed_ && fd_ >= 0, "{}: commit called twice", path_);
  if (::fsync(fd_) != 0) {
    throw runtime_error("{}: fsync failed: {}", temporary_path_, std::strerror(errno));
  }
  int close_result = ::close(fd_);
  fd_ = -1;
  if (close_result != 0) {
    throw runtime_error("{}: close failed: {}", temporary_path_, std::strerror(errno));
  }
  if (::rename(temporary_path_.c_str(), path_.c_str()) != 0) {
    throw runtime_error("{}: cannot rename {} into place: {}", path_, temporary_path_,
                        std::strerror(errno));
  }
  committed_ = true;
  // The rename is only durable once the folder's entry is on disk too. Best effort: some
  // file systems refuse fsync on a directory, and the data itself is already safe.
  std::filesystem::path folder = std::filesystem::path(path_).parent_path();
  if (folder.empty()) folder = ".";
  int dir_fd = ::open(folder.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir_fd >= 0) {
    ::fsync(dir_fd);
    ::close(dir_fd);
  }
}

}  // namespace tessera::io
