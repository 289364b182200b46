#include "actors/client/lister.hpp"

#include "actors/error.hpp"
#include "node/listing.hpp"
#include "protocol/codec.hpp"

namespace dirscope {

namespace {

using self_ptr = lister_actor::stateful_pointer<lister_state>;

void fail(self_ptr self, caf::error err) {
  self->send(self->state.conn, atom::failed_v, self->state.id, std::move(err));
  self->quit();
}

/// Cuts `entries` into chunks of at most max_chunk_bytes (hashes and
/// errors arrive after the cursor sized its batch); fails on an entry that
/// cannot fit any chunk.
bool cut(self_ptr self, std::vector<protocol::entry>& entries) {
  auto& st = self->state;
  std::vector<protocol::entry> chunk;
  size_t bytes = 0;
  for (auto& x : entries) {
    auto n = protocol::encoded_size(x);
    if (n > st.config.max_chunk_bytes) {
      fail(self, make_error(wire_code::io_error,
                            "an entry of " + std::to_string(n)
                              + " bytes exceeds the server's frame limit"));
      return false;
    }
    if (bytes + n > st.config.max_chunk_bytes) {
      st.ready.push_back(std::move(chunk));
      chunk = {};
      bytes = 0;
    }
    bytes += n;
    chunk.push_back(std::move(x));
  }
  if (!chunk.empty())
    st.ready.push_back(std::move(chunk));
  return true;
}

/// True while some large file's hash is still running.
bool hashing(const lister_state& st) {
  for (auto& [serial, big] : st.bigs)
    if (!big.done)
      return true;
  return false;
}

/// With late rows, true once batch `b` may go out without the rows whose
/// hash is still running; else arms a timer for that moment.
bool grace_over(self_ptr self, const lister_state::batch_in_progress& b) {
  auto& st = self->state;
  if (!st.config.late_rows)
    return false;
  auto now = self->clock().now();
  auto due = b.arrived + late_row_grace;
  if (now >= due)
    return true;
  if (st.grace_for != b.seq) {
    st.grace_for = b.seq;
    self->delayed_send(self, due - now, atom::timeout_v, b.seq);
  }
  return false;
}

/// Takes the front batch apart: its rows go to `out`, except those whose
/// hash still runs, which wait in their big_hash.
void release_front(self_ptr self, std::vector<protocol::entry>& out) {
  auto& st = self->state;
  auto& b = st.batches.front();
  auto& entries = b.batch.entries;
  size_t k = 0;
  for (size_t i = 0; i < entries.size(); ++i) {
    auto& x = entries[i];
    if (k < b.bigs.size() && st.bigs.at(b.bigs[k]).index == i) {
      auto it = st.bigs.find(b.bigs[k++]);
      auto& big = it->second;
      if (!big.done) {
        big.row = std::move(x);
        continue;
      }
      x.sha256 = big.sha256;
      x.error = std::move(big.error);
      st.big_bytes_done += big.job->hashed.load(std::memory_order_relaxed);
      st.bigs.erase(it);
    }
    out.push_back(std::move(x));
  }
  st.batches.pop_front();
}

/// Sends complete chunks while the window has room; finishes the listing.
void flush(self_ptr self) {
  auto& st = self->state;
  while (!st.batches.empty()) {
    auto& b = st.batches.front();
    if (b.small_pending)
      break;
    bool waiting = false;
    for (auto serial : b.bigs)
      if (!st.bigs.at(serial).done)
        waiting = true;
    if (waiting && !grace_over(self, b))
      break;
    std::vector<protocol::entry> out;
    release_front(self, out);
    if (!cut(self, out))
      return;
  }
  if (!st.late.empty()) {
    auto late = std::move(st.late);
    st.late.clear();
    if (!cut(self, late))
      return;
  }
  while (!st.ready.empty() && st.unacked < protocol::chunk_window) {
    st.total += st.ready.front().size();
    ++st.unacked;
    st.sent_since_tick = true;
    self->send(st.conn, atom::chunk_v, st.id, std::move(st.ready.front()));
    st.ready.pop_front();
  }
  if (st.batches.empty() && st.ready.empty() && st.bigs.empty()
      && st.exhausted && !st.reading) {
    self->send(st.conn, atom::done_v, st.id, st.total, st.cursor->sorted());
    self->quit();
  }
}

void pump(self_ptr self);

/// Reports progress on a timer while large files are hashed.
void start_ticking(self_ptr self) {
  auto& st = self->state;
  if (st.ticking)
    return;
  st.ticking = true;
  st.sent_since_tick = false;
  self->delayed_send(self,
                     st.config.hash_progress ? lister_hash_progress_interval
                                             : lister_progress_interval,
                     atom::tick_v);
}

/// Bytes hashed so far for this listing.
uint64_t hashed_bytes(const lister_state& st) {
  auto result = st.cursor->hashed()->load(std::memory_order_relaxed)
                + st.big_bytes_done;
  for (auto& [serial, big] : st.bigs)
    result += big.job->hashed.load(std::memory_order_relaxed);
  return result;
}

/// One hash_progress per large file being read (a few at most); if none
/// has started yet, one for the first waiting, so the server still sees
/// the listing live.
void report_hashes(self_ptr self) {
  auto& st = self->state;
  size_t sent = 0;
  const lister_state::big_hash* first = nullptr;
  for (auto& [serial, big] : st.bigs) {
    if (big.done)
      continue;
    if (first == nullptr)
      first = &big;
    auto n = big.job->hashed.load(std::memory_order_relaxed);
    if (n == 0 || sent == lister_max_progress_frames)
      continue;
    self->send(st.conn, atom::progress_v, st.id, big.name, big.size, n);
    ++sent;
  }
  if (sent == 0 && first != nullptr)
    self->send(st.conn, atom::progress_v, st.id, first->name, first->size,
               uint64_t{0});
}

/// A large file's hash ended (digest or error).
void big_done(self_ptr self, uint64_t serial,
              std::optional<protocol::sha256_digest> digest,
              std::optional<protocol::entry_error> error) {
  auto& st = self->state;
  auto it = st.bigs.find(serial);
  if (it == st.bigs.end())
    return;
  auto& big = it->second;
  big.done = true;
  big.sha256 = digest;
  big.error = std::move(error);
  if (big.row) {
    big.row->sha256 = big.sha256;
    big.row->error = std::move(big.error);
    st.late.push_back(std::move(*big.row));
    st.big_bytes_done += big.job->hashed.load(std::memory_order_relaxed);
    st.bigs.erase(it);
  }
  flush(self);
  pump(self);
}

/// Hashes one group of small files of `slot` on an ordinary worker.
void hash_small(self_ptr self, lister_state::batch_in_progress& slot,
                node::listing_batch group, std::vector<size_t> origin) {
  auto& st = self->state;
  ++slot.small_pending;
  // Capturing `slot` by reference is safe: std::deque keeps references
  // valid across push_back and pop_front of other elements, and a slot is
  // only popped once its small files' hashes have arrived.
  self->request(st.pool.pick(), caf::infinite, atom::hash_v, st.cursor,
                std::move(group))
    .then(
      [self, &slot, origin](node::listing_batch& done) {
        for (size_t i = 0; i < origin.size(); ++i) {
          auto& x = slot.batch.entries[origin[i]];
          x.sha256 = done.entries[i].sha256;
          x.error = std::move(done.entries[i].error);
        }
        --slot.small_pending;
        flush(self);
        pump(self);
      },
      [self](caf::error& err) { fail(self, std::move(err)); });
}

/// Small files go to the ordinary workers in groups of at most
/// `lister_small_group_bytes` (one message each, so a stat or a read waits
/// behind at most one group); each large file to a bulk worker of its own,
/// so it holds up neither the ordinary workers nor the other rows.
void start_hashes(self_ptr self, lister_state::batch_in_progress& slot) {
  auto& st = self->state;
  node::listing_batch group;
  std::vector<size_t> origin;
  uint64_t bytes = 0;
  for (auto& job : slot.batch.pending) {
    auto& x = slot.batch.entries[job.index];
    if (x.size > node::small_hash_limit)
      continue;
    if (!origin.empty() && bytes + x.size > lister_small_group_bytes) {
      hash_small(self, slot, std::move(group), std::move(origin));
      group = {};
      origin = {};
      bytes = 0;
    }
    bytes += x.size;
    origin.push_back(job.index);
    protocol::entry named;
    named.name = x.name;
    group.pending.push_back({group.entries.size(), job.key});
    group.entries.push_back(std::move(named));
  }
  if (!origin.empty())
    hash_small(self, slot, std::move(group), std::move(origin));
  for (auto& job : slot.batch.pending) {
    auto& x = slot.batch.entries[job.index];
    if (x.size <= node::small_hash_limit)
      continue;
    auto serial = st.next_big++;
    auto& big = st.bigs[serial];
    big.name = x.name;
    big.size = x.size;
    big.index = job.index;
    big.job = std::make_shared<node::hash_job>();
    slot.bigs.push_back(serial);
    start_ticking(self);
    self->request(st.pool.pick_bulk(), caf::infinite, atom::hash_v, st.cursor,
                  x.name, job.key, big.job)
      .then(
        [self, serial](protocol::sha256_digest& digest) {
          big_done(self, serial, digest, std::nullopt);
        },
        [self, serial](caf::error& err) {
          auto why = to_failure(err);
          big_done(self, serial, std::nullopt,
                   protocol::entry_error{why.code, why.message});
        });
  }
  slot.batch.pending.clear();
}

void pump(self_ptr self) {
  auto& st = self->state;
  // An ack cannot come before the directory is open (the connection checks
  // each against the chunks sent), but never read without a cursor.
  if (!st.cursor || st.reading || st.exhausted
      || st.unacked + st.batches.size() + st.ready.size()
           >= protocol::chunk_window
      || st.bigs.size() >= lister_max_big_hashes)
    return;
  st.reading = true;
  self->request(st.pool.pick(), caf::infinite, atom::read_v, st.cursor,
                st.config.with_hashes)
    .then(
      [self](node::listing_batch& batch) {
        auto& st = self->state;
        st.reading = false;
        st.exhausted = st.cursor->done();
        if (!batch.entries.empty()) {
          lister_state::batch_in_progress slot;
          slot.seq = st.next_seq++;
          slot.batch = std::move(batch);
          slot.arrived = self->clock().now();
          st.batches.push_back(std::move(slot));
          start_hashes(self, st.batches.back());
        }
        flush(self);
        pump(self);
      },
      [self](caf::error& err) { fail(self, std::move(err)); });
}

} // namespace

lister_actor::behavior_type
lister(lister_actor::stateful_pointer<lister_state> self,
       client_connection_actor conn, worker_pool pool, uint32_t id,
       std::string path, lister_config config) {
  auto& st = self->state;
  st.conn = std::move(conn);
  st.pool = std::move(pool);
  st.id = id;
  st.config = config;
  self->request(st.pool.pick(), caf::infinite, atom::open_v, std::move(path))
    .then(
      [self](dir_cursor_ptr& cursor) {
        self->state.cursor = std::move(cursor);
        pump(self);
      },
      [self](caf::error& err) { fail(self, std::move(err)); });
  return {
    [self](atom::ack) {
      auto& st = self->state;
      if (st.unacked > 0)
        --st.unacked;
      flush(self);
      pump(self);
    },
    [self](atom::tick) {
      auto& st = self->state;
      st.ticking = false;
      if (!hashing(st))
        return;
      if (st.config.hash_progress)
        report_hashes(self);
      else if (!st.sent_since_tick)
        // Rows going out show the server that the listing lives.
        self->send(st.conn, atom::progress_v, st.id, hashed_bytes(st));
      start_ticking(self);
    },
    [self](atom::timeout, uint64_t seq) {
      auto& st = self->state;
      if (st.grace_for == seq)
        st.grace_for.reset();
      flush(self);
      pump(self);
    },
  };
}

} // namespace dirscope
