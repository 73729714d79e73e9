// File: tools/simulator_model.h
// -----------------------------------------------------------------------------
//
// The reference model a run checks the tree against: every version of
// every key, so a read at any sequence (the latest state, a held snapshot,
// the last durable checkpoint) has an exact expected answer.
//
// Part of the simulator (the API is simulator_lib.h; doc/reliability.md).

#ifndef LSMSCAN_TOOLS_SIMULATOR_MODEL_H_
#define LSMSCAN_TOOLS_SIMULATOR_MODEL_H_

#include <cstddef>
#include <cstdint>
#include <iterator>
#include <map>
#include <optional>
#include <vector>

#include "lsmscan/lsm/direction.h"
#include "lsmscan/tools/simulator_types.h"

namespace lsmscan {
namespace simulator {

// Model
//
// The reference the tree must match: every version of every key, tagged with
// the sequence number of the write that made it (one per applied write, from
// 1). A read "at sequence s" sees, for each key, its newest version written
// at or before s; a tombstone version means "absent".
class Model {
 public:
  // The sequence number of the last applied write (0: none since Reset()).
  uint64_t seq() const { return seq_; }
  uint64_t version_count() const { return version_count_; }

  // Model::Apply()
  //
  // Records a put or a tombstone as the next write.
  void Apply(const Value& value) {
    seq_++;
    versions_[Rec::key_of(value)].push_back(
        Version{seq_, !Rec::is_tombstone(value), value});
    version_count_++;
  }

  // Model::Get()
  //
  // The value of `key` at `seq`, or nullopt if absent.
  std::optional<Value> Get(Key key, uint64_t seq) const {
    auto it = versions_.find(key);
    if (it == versions_.end()) return std::nullopt;
    return LiveAt(it->second, seq);
  }

  // Model::Next()
  //
  // The first value live at `seq` from `from` towards `bound` (both
  // inclusive) in `direction`, or nullopt.
  std::optional<Value> Next(uint64_t seq, Key from, Key bound,
                            Direction direction) const {
    if (direction == Direction::kAscending) return NextUp(seq, from, bound);
    return NextDown(seq, from, bound);
  }

  // Model::MapAt()
  //
  // Every live value at `seq`.
  std::map<Key, Value> MapAt(uint64_t seq) const {
    std::map<Key, Value> map;
    for (const auto& [key, versions] : versions_) {
      std::optional<Value> value = LiveAt(versions, seq);
      if (value.has_value()) map.emplace(key, *value);
    }
    return map;
  }

  // Model::Reset()
  //
  // Forgets every version; `map` becomes the state at sequence 0.
  void Reset(const std::map<Key, Value>& map) {
    versions_.clear();
    seq_ = 0;
    version_count_ = 0;
    for (const auto& [key, value] : map) {
      versions_[key].push_back(Version{0, true, value});
      version_count_++;
    }
  }

  // Model::Prune()
  //
  // Drops the versions no read at a sequence >= `seq_min` can see.
  void Prune(uint64_t seq_min) {
    for (auto it = versions_.begin(); it != versions_.end();) {
      PruneKey(&it->second, seq_min);
      it = it->second.empty() ? versions_.erase(it) : std::next(it);
    }
  }

 private:
  struct Version {
    uint64_t seq;
    bool live;
    Value value;
  };

  static std::optional<Value> LiveAt(const std::vector<Version>& versions,
                                     uint64_t seq) {
    for (size_t i = versions.size(); i > 0; i--) {
      const Version& version = versions[i - 1];
      if (version.seq > seq) continue;
      if (!version.live) return std::nullopt;
      return version.value;
    }
    return std::nullopt;
  }

  std::optional<Value> NextUp(uint64_t seq, Key from, Key bound) const {
    if (bound < from) return std::nullopt;
    for (auto it = versions_.lower_bound(from);
         it != versions_.end() && it->first <= bound; ++it) {
      std::optional<Value> value = LiveAt(it->second, seq);
      if (value.has_value()) return value;
    }
    return std::nullopt;
  }

  std::optional<Value> NextDown(uint64_t seq, Key from, Key bound) const {
    if (from < bound) return std::nullopt;
    for (auto it = versions_.upper_bound(from); it != versions_.begin();) {
      --it;
      if (it->first < bound) break;
      std::optional<Value> value = LiveAt(it->second, seq);
      if (value.has_value()) return value;
    }
    return std::nullopt;
  }

  void PruneKey(std::vector<Version>* versions, uint64_t seq_min) {
    // Keep the newest version at or before seq_min and everything after.
    size_t keep = 0;
    for (size_t i = versions->size(); i > 0; i--) {
      if ((*versions)[i - 1].seq <= seq_min) {
        keep = i - 1;
        break;
      }
    }
    // An oldest tombstone nobody can read past is the same as nothing.
    if (!(*versions)[keep].live && (*versions)[keep].seq <= seq_min) keep++;
    version_count_ -= keep;
    versions->erase(versions->begin(),
                    versions->begin() + static_cast<ptrdiff_t>(keep));
  }

  std::map<Key, std::vector<Version>> versions_;
  uint64_t seq_ = 0;
  uint64_t version_count_ = 0;
};

}  // namespace simulator
}  // namespace lsmscan

#endif  // LSMSCAN_TOOLS_SIMULATOR_MODEL_H_
