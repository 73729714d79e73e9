#include "lsmscan/lsm/checksum.h"

#include <xxhash.h>

#include "absl/strings/str_format.h"

namespace lsmscan {

Checksum128 ChecksumBytes(const void* data, size_t size) {
  const XXH128_hash_t hash = XXH3_128bits(data, size);
  return Checksum128{hash.low64, hash.high64};
}

std::string Checksum128::ToHex() const {
  return absl::StrFormat("%016x%016x", high, low);
}

}  // namespace lsmscan
