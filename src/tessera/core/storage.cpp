#include "tessera/core/storage.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>

#include "tessera/core/error.h"

namespace tessera {

namespace {

constexpr size_t kAlignment = 64;  // one cache line; also what AVX-512 loads like best

// Freed blocks of at least kCachedMinimum bytes are kept for reuse by size. Training and
// decoding allocate the same shapes step after step; without the cache every large block
// is a fresh mmap whose pages fault in again (measured: ~15% of a 1024^3 matmul).
constexpr size_t kCachedMinimum = 64 * 1024;
constexpr size_t kCacheLimit = size_t(1) << 30;

struct BlockCache {
  std::mutex mutex;
  std::multimap<size_t, void*> free_blocks;
  size_t cached_bytes = 0;
  ~BlockCache() {
    for (auto& [size, p] : free_blocks) std::free(p);
  }
};

BlockCache& block_cache() {
  static BlockCache* cache = new BlockCache();  // never destroyed: storages may outlive statics
  return *cache;
}

void* take_block(size_t rounded) {
  if (rounded >= kCachedMinimum) {
    BlockCache& cache = block_cache();
    std::lock_guard<std::mutex> lock(cache.mutex);
    auto it = cache.free_blocks.find(rounded);
    if (it != cache.free_blocks.end()) {
      void* p = it->second;
      cache.free_blocks.erase(it);
      cache.cached_bytes -= rounded;
      return p;
    }
  }
  return std::aligned_alloc(kAlignment, rounded);
}

void give_back(void* p, size_t rounded) {
  if (rounded >= kCachedMinimum) {
    BlockCache& cache = block_cache();
    std::lock_guard<std::mutex> lock(cache.mutex);
    if (cache.cached_bytes + rounded <= kCacheLimit) {
      cache.free_blocks.emplace(rounded, p);
      cache.cached_bytes += rounded;
      return;
    }
  }
  std::free(p);
}

size_t rounded_size(size_t nbytes) {
  size_t rounded = (nbytes + kAlignment - 1) / kAlignment * kAlignment;
  return rounded == 0 ? kAlignment : rounded;
}

}  // namespace

std::shared_ptr<Storage> Storage::allocate(size_t nbytes) {
  auto storage = std::shared_ptr<Storage>(new Storage());
  storage->data_ = take_block(rounded_size(nbytes));
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
  if (owns_) give_back(data_, rounded_size(nbytes_));
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
