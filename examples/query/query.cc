// A query over secondary indexes with lsmscan's scan algebra, to copy from.
//
// The data: orders, in an objects tree keyed by id (ids grow with time, so
// a higher id is a newer order), and two secondary index trees keyed
// (field value, id): one on `priority` (0..9), one on `status` (0..3).
//
// The query: "priority in [7, 9] AND status = SHIPPED, newest first",
// answered as
//
//   ScanLookup(orders,
//     ScanIntersection(
//       ScanUnion(priority = 7, priority = 8, priority = 9),   // ids, desc
//       status = SHIPPED))                                     // ids, desc
//
// Each index scan covers one field value, so it yields ids in order; the
// projection (field, id) -> id is what the union and the intersection
// compare. The intersection zig-zags: the scan that lags is probed to the
// other's id, skipping what cannot match. The lookup turns each id into its
// order by point reads, many in flight. Everything runs at snapshots taken
// of the three trees together, while new orders and status changes keep
// being written between reads; the answer is checked against a brute-force
// evaluation of the orders as they were at the snapshots.
//
//   bazel run //examples/query        (also a test:
//   //examples/query:query_test)

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "lsmscan/lsm/schema.h"
#include "lsmscan/lsm/tree.h"
#include "lsmscan/lsm/tree_blocking.h"
#include "lsmscan/scan/scan_buffer.h"
#include "lsmscan/scan/scan_intersection.h"
#include "lsmscan/scan/scan_lookup.h"
#include "lsmscan/scan/scan_source.h"
#include "lsmscan/scan/scan_tree_source.h"
#include "lsmscan/scan/scan_union.h"
#include "lsmscan/storage/pread_storage.h"
#include "lsmscan/storage/storage.h"

namespace {

using lsmscan::Direction;
using lsmscan::ScanNextKind;
using lsmscan::Snapshot;

constexpr uint64_t kTombstone = uint64_t{1} << 63;
constexpr uint64_t kShipped = 2;

// The objects: one order per id.
struct OrderSchema {
  using Key = uint64_t;
  struct Value {
    uint64_t id_word;  // The id; the top bit marks a tombstone.
    uint64_t priority;
    uint64_t status;
    uint64_t amount_cents;
  };
  static constexpr const char* kName = "example.order.v1";
  static Key key_of(const Value& value) { return value.id_word & ~kTombstone; }
  static Value tombstone(Key id) { return {id | kTombstone, 0, 0, 0}; }
  static bool is_tombstone(const Value& value) {
    return (value.id_word & kTombstone) != 0;
  }
};
using Order = OrderSchema::Value;

// A secondary index entry: (field value, id), ordered by value then id.
struct IndexKey {
  uint64_t value;
  uint64_t id;
  friend auto operator<=>(const IndexKey&, const IndexKey&) = default;
};

struct IndexSchema {
  using Key = IndexKey;
  struct Value {
    IndexKey key;
    uint64_t removed;  // 1 for a tombstone.
  };
  static constexpr const char* kName = "example.index.v1";
  static Key key_of(const Value& value) { return value.key; }
  static Value tombstone(Key key) { return {key, 1}; }
  static bool is_tombstone(const Value& value) { return value.removed != 0; }
};

// What the algebra compares: an index entry's id. Within one field value,
// ids are in order, and the entry for id `id` is {value, id}.
struct IdOfEntry {
  using Key = uint64_t;
  Key Project(const IndexSchema::Value& entry) const { return entry.key.id; }
  IndexKey TreeKey(Key id, const IndexKey& key_min) const {
    return {key_min.value, id};
  }
};

using IndexScan = lsmscan::ScanTreeSource<IndexSchema, IdOfEntry>;
using IdSource = lsmscan::ScanSource<uint64_t>;

int Fail(const absl::Status& status, const char* what) {
  std::fprintf(stderr, "query: %s: %s\n", what, status.ToString().c_str());
  return 1;
}

// The three trees, each on its own file.
struct Database {
  std::vector<std::unique_ptr<lsmscan::Storage>> storages;
  std::unique_ptr<lsmscan::Tree<OrderSchema>> orders;
  std::unique_ptr<lsmscan::Tree<IndexSchema>> by_priority;
  std::unique_ptr<lsmscan::Tree<IndexSchema>> by_status;
  std::map<uint64_t, Order> model;  // The orders, for the check.
  uint64_t next_id = 1;

  // One turn of every storage's loop (the scans and lookups progress).
  void Tick() {
    for (auto& storage : storages) {
      if (storage->pending_count() > 0) {
        storage->Tick(lsmscan::Storage::TickMode::kWaitForProgress);
      }
    }
  }

  absl::Status AddOrder(uint64_t priority, uint64_t status) {
    const Order order{next_id++, priority, status, 100 * next_id};
    model[order.id_word] = order;
    absl::Status s = lsmscan::PutWithBackPressure(orders.get(), order);
    if (s.ok()) {
      s = lsmscan::PutWithBackPressure(by_priority.get(),
                                       {{priority, order.id_word}, 0});
    }
    if (s.ok()) {
      s = lsmscan::PutWithBackPressure(by_status.get(),
                                       {{status, order.id_word}, 0});
    }
    return s;
  }

  // Changes an order's status: the object, and its index entries.
  absl::Status SetStatus(uint64_t id, uint64_t status) {
    Order& order = model.at(id);
    absl::Status s = lsmscan::PutWithBackPressure(
        by_status.get(), IndexSchema::tombstone({order.status, id}));
    order.status = status;
    if (s.ok()) {
      s = lsmscan::PutWithBackPressure(by_status.get(), {{status, id}, 0});
    }
    if (s.ok()) s = lsmscan::PutWithBackPressure(orders.get(), order);
    return s;
  }
};

absl::Status Open(const std::string& directory, Database* db) {
  lsmscan::TreeOptions options;
  options.memory_table_value_count_max = 4096;
  options.cache_block_count = 64;  // A block cache for the pread storage.
  for (const char* name : {"orders", "by_priority", "by_status"}) {
    lsmscan::PreadStorageOptions storage_options;
    storage_options.storage.block_size_bytes = 16 << 10;
    auto storage = lsmscan::PreadStorage::Open(
        directory + "/" + name + ".blocks", lsmscan::OpenMode::kCreate,
        storage_options);
    if (!storage.ok()) return storage.status();
    db->storages.push_back(std::move(storage).value());
  }
  auto orders =
      lsmscan::Tree<OrderSchema>::Create(db->storages[0].get(), options);
  if (!orders.ok()) return orders.status();
  auto by_priority =
      lsmscan::Tree<IndexSchema>::Create(db->storages[1].get(), options);
  if (!by_priority.ok()) return by_priority.status();
  auto by_status =
      lsmscan::Tree<IndexSchema>::Create(db->storages[2].get(), options);
  if (!by_status.ok()) return by_status.status();
  db->orders = std::move(orders).value();
  db->by_priority = std::move(by_priority).value();
  db->by_status = std::move(by_status).value();
  return absl::OkStatus();
}

// Pseudo-random but fixed: a small multiplicative hash.
uint64_t Mix(uint64_t x) { return (x * 0x9E3779B97F4A7C15ull) >> 40; }

// The query's answer by brute force: ids of `model`, newest first.
std::vector<uint64_t> Expected(const std::map<uint64_t, Order>& model) {
  std::vector<uint64_t> ids;
  for (auto it = model.rbegin(); it != model.rend(); ++it) {
    const Order& order = it->second;
    if (order.priority >= 7 && order.priority <= 9 &&
        order.status == kShipped) {
      ids.push_back(it->first);
    }
  }
  return ids;
}

// Snapshots of the three trees taken together.
struct Snapshots {
  Snapshot orders;
  Snapshot by_priority;
  Snapshot by_status;
};

// The query's scans, in the order they must be destroyed in reverse:
// buffers, then the sources, then what reads them.
struct Query {
  std::vector<std::unique_ptr<lsmscan::ScanBuffer>> buffers;
  IndexScan priority_scans[3];  // priority = 7, 8, 9
  IndexScan shipped;            // status = shipped
  lsmscan::ScanUnion<uint64_t> high_priority;
  lsmscan::ScanIntersection<uint64_t> matching;
  lsmscan::ScanLookup<OrderSchema> results;

  // Builds the expression at `at`, newest first. No I/O.
  absl::Status Init(Database* db, const Snapshots& at) {
    // One scan per priority value, one for the status. Each scan needs its
    // own buffer (sized for its tree).
    for (int i = 0; i < 4; i++) {
      auto buffer = lsmscan::ScanBuffer::ForTree(i < 3 ? *db->by_priority
                                                       : *db->by_status);
      if (!buffer.ok()) return buffer.status();
      buffers.push_back(std::move(buffer).value());
    }
    for (uint64_t p = 7; p <= 9; p++) {
      absl::Status s = priority_scans[p - 7].Init(
          db->by_priority.get(), buffers[p - 7].get(), at.by_priority, {p, 0},
          {p, UINT64_MAX}, Direction::kDescending);
      if (!s.ok()) return s;
    }
    absl::Status s = shipped.Init(
        db->by_status.get(), buffers[3].get(), at.by_status, {kShipped, 0},
        {kShipped, UINT64_MAX}, Direction::kDescending);
    if (!s.ok()) return s;
    // The expression, bottom up.
    IdSource* priorities[] = {&priority_scans[0], &priority_scans[1],
                              &priority_scans[2]};
    if (s = high_priority.Init(priorities); !s.ok()) return s;
    IdSource* both[] = {&high_priority, &shipped};
    if (s = matching.Init(both); !s.ok()) return s;
    return results.Init(&matching, db->orders.get(), at.orders,
                        {.lookups_in_flight_max = 32});
  }
};

// Read() and tick the storages until the query calls back.
absl::Status ReadBlocking(Database* db, Query* query) {
  struct Done {
    bool done = false;
    absl::Status status;
  } done;
  query->results.Read(
      [](void* context, lsmscan::ScanLookup<OrderSchema>*,
         absl::Status status) {
        auto* d = static_cast<Done*>(context);
        d->done = true;
        d->status = std::move(status);
      },
      &done);
  while (!done.done) db->Tick();
  return done.status;
}

// Runs `query` to its end, writing new orders and status changes between
// reads; appends the ids found (newest first) to `ids`.
absl::Status RunQuery(Database* db, Query* query, std::vector<uint64_t>* ids) {
  uint64_t reads = 0;
  bool need_read = true;
  const uint64_t written_before = db->next_id;
  while (true) {
    if (need_read) {
      absl::Status s = ReadBlocking(db, query);
      reads++;
      // Meanwhile: new orders and status changes (not in the snapshots).
      for (uint64_t i = 0; i < 100 && s.ok(); i++) {
        s = db->AddOrder(9, kShipped);
        if (s.ok()) s = db->SetStatus(1 + Mix(reads * 100 + i) % 30000, 2);
      }
      if (!s.ok()) return s;
    }
    // Next() until ReadAgain (call Read()) or End.
    const lsmscan::ScanNext<Order> next = query->results.Next();
    if (next.kind == ScanNextKind::kEnd) break;
    need_read = next.kind == ScanNextKind::kReadAgain;
    if (need_read) continue;
    const Order& order = *next.value;  // Valid until the next call.
    if (ids->size() < 3) {
      std::printf("order %llu: priority %llu, status %llu, %llu cents\n",
                  static_cast<unsigned long long>(order.id_word),
                  static_cast<unsigned long long>(order.priority),
                  static_cast<unsigned long long>(order.status),
                  static_cast<unsigned long long>(order.amount_cents));
    }
    ids->push_back(order.id_word);
  }
  std::printf(
      "%zu orders; %llu reads, %llu index data blocks, %llu zig-zag probes, "
      "%llu lookups; %llu orders added meanwhile\n",
      ids->size(), static_cast<unsigned long long>(reads),
      static_cast<unsigned long long>(
          query->matching.stats().levels.data_blocks),
      static_cast<unsigned long long>(query->matching.probe_count()),
      static_cast<unsigned long long>(query->results.stats().lookups),
      static_cast<unsigned long long>(db->next_id - written_before));
  return absl::OkStatus();
}

}  // namespace

int main() {
  const char* tmp = std::getenv("TEST_TMPDIR");
  Database db;
  absl::Status status = Open(tmp != nullptr ? tmp : "/tmp", &db);
  if (!status.ok()) return Fail(status, "open");

  // 30,000 orders; a third of them change status later.
  for (uint64_t i = 0; i < 30000; i++) {
    status = db.AddOrder(Mix(i) % 10, Mix(i + 7) % 4);
    if (!status.ok()) return Fail(status, "add");
  }
  for (uint64_t id = 1; id < db.next_id; id += 3) {
    status = db.SetStatus(id, Mix(id + 11) % 4);
    if (!status.ok()) return Fail(status, "update");
  }

  // Flush the memory tables to disk first: a snapshot keeps the memory
  // tables it can see until it is released, and writes made meanwhile need
  // free ones (the tree's memory table pool is small and fixed).
  status = lsmscan::CheckpointBlocking(db.orders.get());
  if (status.ok()) status = lsmscan::CheckpointBlocking(db.by_priority.get());
  if (status.ok()) status = lsmscan::CheckpointBlocking(db.by_status.get());
  if (!status.ok()) return Fail(status, "checkpoint");

  // Snapshots of the three trees, taken together (no write in between), so
  // the indexes and the orders agree.
  auto orders_at = db.orders->AcquireSnapshot();
  auto priority_at = db.by_priority->AcquireSnapshot();
  auto status_at = db.by_status->AcquireSnapshot();
  if (!orders_at.ok() || !priority_at.ok() || !status_at.ok()) {
    return Fail(absl::InternalError("no snapshot"), "snapshot");
  }
  const std::vector<uint64_t> expected = Expected(db.model);

  std::printf("priority in [7, 9] AND status = shipped, newest first:\n");
  std::vector<uint64_t> ids;
  {
    Query query;  // Ends (and lets go of the snapshots) at the brace.
    status = query.Init(&db, {orders_at->snapshot(), priority_at->snapshot(),
                              status_at->snapshot()});
    if (!status.ok()) return Fail(status, "query");
    status = RunQuery(&db, &query, &ids);
    if (!status.ok()) return Fail(status, "query");
  }
  if (ids != expected) {
    std::fprintf(stderr, "query: %zu results, %zu expected\n", ids.size(),
                 expected.size());
    return 1;
  }
  std::printf("matches a brute-force evaluation at the snapshots\n");
  for (absl::Status released : {db.orders->ReleaseSnapshot(*orders_at),
                                db.by_priority->ReleaseSnapshot(*priority_at),
                                db.by_status->ReleaseSnapshot(*status_at)}) {
    if (!released.ok()) return Fail(released, "release");
  }
  return 0;
}
