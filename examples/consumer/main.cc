// Writes a block through lsmscan's in-memory storage and reads it back.
#include <cstdio>
#include <cstring>

#include "lsmscan/storage/aligned_buffer.h"
#include "lsmscan/storage/memory_storage.h"
#include "storage/storage.h"

int main() {
  lsmscan::StorageOptions options;
  options.block_count_max = 16;
  auto storage = lsmscan::MemoryStorage::Create(options);
  if (!storage.ok()) {
    std::fprintf(stderr, "%s\n", storage.status().ToString().c_str());
    return 1;
  }
  lsmscan::AlignedBuffer block(options.block_size_bytes);
  std::memcpy(block.data(), "hello", 6);
  lsmscan::Storage::Write write;
  write.address = 3;
  write.data = block.data();
  write.callback = [](lsmscan::Storage::Write*) {};
  (*storage)->SubmitWrite(&write);
  (*storage)->RunUntilIdle();  // A block is readable once written.
  lsmscan::Storage::Read read;
  read.address = 3;
  read.callback = [](lsmscan::Storage::Read*) {};
  (*storage)->SubmitRead(&read);
  (*storage)->RunUntilIdle();
  if (!write.status.ok() || !read.status.ok()) return 1;
  std::printf("consumer: read back \"%s\" (%s beside %s)\n",
              reinterpret_cast<const char*>(read.data), (*storage)->name(),
              consumer::StorageName());
  return 0;
}
