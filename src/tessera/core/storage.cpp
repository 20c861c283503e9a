#include "tessera/core/storage.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "tessera/core/error.h"

namespace tessera {

namespace {
constexpr size_t kAlignment = 64;  // one cache line; also what AVX-512 loads like best
}

std::shared_ptr<Storage> Storage::allocate(size_t nbytes) {
  auto storage = std::shared_ptr<Storage>(new Storage());
  size_t rounded = (nbytes + kAlignment - 1) / kAlignment * kAlignment;
  if (rounded == 0) rounded = kAlignment;
  storage->data_ = std::aligned_alloc(kAlignment, rounded);
  if (storage->data_ == nullptr) throw runtime_error("out of memory allocating {} bytes", nbytes);
  storage->nbytes_ = nbytes;
  storage->owns_ = true;
  return storage;
}

std::shared_ptr<Storage> Storage::wrap(void* data, size_t nbytes, std::shared_ptr<const void> owner,
                                       bool read_only) {
  auto storage = std::shared_ptr<Storage>(new Storage());
  storage->data_ = data;
  storage->nbytes_ = nbytes;
  storage->read_only_ = read_only;
  storage->owner_ = std::move(owner);
  return storage;
}

Storage::~Storage() {
  if (owns_) std::free(data_);
}

std::shared_ptr<MappedFile> MappedFile::open(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) throw bad_input("{}: cannot open: {}", path, std::strerror(errno));
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    throw bad_input("{}: not a regular file", path);
  }
  auto file = std::shared_ptr<MappedFile>(new MappedFile());
  file->path_ = path;
  file->size_ = static_cast<size_t>(st.st_size);
  if (file->size_ > 0) {
    // Private and writable (copy-on-write): the file never changes, and a stray write through a
    // tensor view copies the page instead of crashing. Tensor marks such views read-only so
    // in-place ops refuse them.
    void* p = ::mmap(nullptr, file->size_, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
    if (p == MAP_FAILED) {
      int err = errno;
      ::close(fd);
      throw runtime_error("{}: mmap failed: {}", path, std::strerror(err));
    }
    file->data_ = static_cast<const uint8_t*>(p);
  }
  ::close(fd);  // the mapping stays valid after close
  return file;
}

MappedFile::~MappedFile() {
  if (data_ != nullptr) ::munmap(const_cast<uint8_t*>(data_), size_);
}

}  // namespace tessera
