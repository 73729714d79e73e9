// File: tools/lsmscan/even_sample.h
// -----------------------------------------------------------------------------
//
// EvenSample<T>: `count` items spread evenly over a stream whose length is
// not known in advance (the live keys `stats` meets in one merge of the
// levels), in memory bounded by 2 * count items.

#ifndef LSMSCAN_TOOLS_LSMSCAN_EVEN_SAMPLE_H_
#define LSMSCAN_TOOLS_LSMSCAN_EVEN_SAMPLE_H_

#include <cstddef>
#include <cstdint>
#include <vector>

#include "lsmscan/storage/base/assert.h"

namespace lsmscan {
namespace tool {

// EvenSample<T>
//
// Keeps every stride-th item of the stream (stride 1 at first); when
// 2 * count items are kept, drops every other one and doubles the stride.
// The kept items are thus always items 0, s, 2s, ... of the stream, and
// Take() picks `count` of them evenly: from the whole stream, the last
// stride included, whatever its length.
template <typename T>
class EvenSample {
 public:
  // REQUIRES: count > 0.
  explicit EvenSample(size_t count) : count_(count) {
    LSMSCAN_ASSERT(count > 0);
    kept_.reserve(2 * count);
  }

  // Offers the stream's next item.
  void Add(const T& item) {
    if (seen_++ % stride_ != 0) return;
    kept_.push_back(item);
    if (kept_.size() < 2 * count_) return;
    for (size_t i = 0; i < count_; i++) kept_[i] = kept_[2 * i];
    kept_.resize(count_);
    stride_ *= 2;
  }

  // min(count, items offered) items, in stream order, evenly spaced over
  // the stream: the first item, and gaps that differ by at most one
  // stride.
  std::vector<T> Take() const {
    if (kept_.size() <= count_) return kept_;
    std::vector<T> sample;
    sample.reserve(count_);
    for (size_t i = 0; i < count_; i++) {
      sample.push_back(kept_[i * kept_.size() / count_]);
    }
    return sample;
  }

  // The number of items offered.
  uint64_t seen() const { return seen_; }

 private:
  size_t count_;
  uint64_t stride_ = 1;
  uint64_t seen_ = 0;
  std::vector<T> kept_;
};

}  // namespace tool
}  // namespace lsmscan

#endif  // LSMSCAN_TOOLS_LSMSCAN_EVEN_SAMPLE_H_
