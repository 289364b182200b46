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
    if (n > st.max_chunk_bytes) {
      fail(self, make_error(wire_code::io_error,
                            "an entry of " + std::to_string(n)
                              + " bytes exceeds the server's frame limit"));
      return false;
    }
    if (bytes + n > st.max_chunk_bytes) {
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

/// Sends complete chunks while the window has room; finishes the listing.
void flush(self_ptr self) {
  auto& st = self->state;
  while (!st.batches.empty() && st.batches.front().outstanding == 0) {
    auto entries = std::move(st.batches.front().batch.entries);
    st.batches.pop_front();
    if (!cut(self, entries))
      return;
  }
  while (!st.ready.empty() && st.unacked < protocol::chunk_window) {
    st.total += st.ready.front().size();
    ++st.unacked;
    st.sent_since_tick = true;
    self->send(st.conn, atom::chunk_v, st.id, std::move(st.ready.front()));
    st.ready.pop_front();
  }
  if (st.batches.empty() && st.ready.empty() && st.exhausted && !st.reading) {
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
  self->delayed_send(self, lister_progress_interval, atom::tick_v);
}

/// Small files go to one ordinary worker in one message; each large file to
/// a bulk worker of its own, so it holds up neither the ordinary workers
/// (stat, reads) nor the hashes of the other files.
void start_hashes(self_ptr self, lister_state::batch_in_progress& slot) {
  auto& st = self->state;
  node::listing_batch small;
  std::vector<size_t> origin;
  for (auto& job : slot.batch.pending) {
    auto& x = slot.batch.entries[job.index];
    if (x.size > node::small_hash_limit)
      continue;
    origin.push_back(job.index);
    protocol::entry named;
    named.name = x.name;
    small.pending.push_back({small.entries.size(), job.key});
    small.entries.push_back(std::move(named));
  }
  slot.outstanding = slot.batch.pending.size() - origin.size()
                     + (origin.empty() ? 0 : 1);
  // Capturing `slot` by reference is safe: std::deque keeps references
  // valid across push_back and pop_front of other elements, and a slot is
  // only popped once all of its hashes have arrived.
  if (!origin.empty())
    self->request(st.pool.pick(), caf::infinite, atom::hash_v, st.cursor,
                  std::move(small))
      .then(
        [self, &slot, origin](node::listing_batch& done) {
          for (size_t i = 0; i < origin.size(); ++i) {
            auto& x = slot.batch.entries[origin[i]];
            x.sha256 = done.entries[i].sha256;
            x.error = std::move(done.entries[i].error);
          }
          --slot.outstanding;
          flush(self);
          pump(self);
        },
        [self](caf::error& err) { fail(self, std::move(err)); });
  for (auto& job : slot.batch.pending) {
    auto index = job.index;
    if (slot.batch.entries[index].size <= node::small_hash_limit)
      continue;
    ++st.big_hashes;
    start_ticking(self);
    auto name = slot.batch.entries[index].name;
    self->request(st.pool.pick_bulk(), caf::infinite, atom::hash_v, st.cursor,
                  name, job.key)
      .then(
        [self, &slot, index](protocol::sha256_digest& digest) {
          slot.batch.entries[index].sha256 = digest;
          --slot.outstanding;
          --self->state.big_hashes;
          flush(self);
          pump(self);
        },
        [self, &slot, index](caf::error& err) {
          auto why = to_failure(err);
          slot.batch.entries[index].error
            = protocol::entry_error{why.code, why.message};
          --slot.outstanding;
          --self->state.big_hashes;
          flush(self);
          pump(self);
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
           >= protocol::chunk_window)
    return;
  st.reading = true;
  self->request(st.pool.pick(), caf::infinite, atom::read_v, st.cursor,
                st.with_hashes)
    .then(
      [self](node::listing_batch& batch) {
        auto& st = self->state;
        st.reading = false;
        st.exhausted = st.cursor->done();
        if (!batch.entries.empty()) {
          st.batches.push_back({std::move(batch), 0});
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
       std::string path, bool with_hashes, size_t max_chunk_bytes) {
  auto& st = self->state;
  st.max_chunk_bytes = max_chunk_bytes;
  st.conn = std::move(conn);
  st.pool = std::move(pool);
  st.id = id;
  st.with_hashes = with_hashes;
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
      if (st.big_hashes == 0)
        return;
      // Rows going out show the server that the listing lives.
      if (!st.sent_since_tick)
        self->send(st.conn, atom::progress_v, st.id,
                   st.cursor->hashed()->load(std::memory_order_relaxed));
      start_ticking(self);
    },
  };
}

} // namespace dirscope
