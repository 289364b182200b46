#include "actors/client/finder.hpp"

#include "actors/client/lister.hpp"
#include "actors/error.hpp"
#include "node/find_walk.hpp"
#include "protocol/codec.hpp"

namespace dirscope {

namespace {

using self_ptr = finder_actor::stateful_pointer<finder_state>;

void fail(self_ptr self, caf::error err) {
  self->send(self->state.conn, atom::failed_v, self->state.id, std::move(err));
  self->quit();
}

const fs_worker_actor& worker(self_ptr self) {
  auto& st = self->state;
  return st.bulk ? st.pool.pick_bulk() : st.pool.pick();
}

/// Cuts `matches` into chunks that fit the server's frame limit.
bool cut(self_ptr self, std::vector<protocol::find_match>& matches) {
  auto& st = self->state;
  std::vector<protocol::find_match> chunk;
  size_t bytes = 0;
  for (auto& x : matches) {
    auto n = protocol::encoded_size(x);
    if (n > st.max_chunk_bytes) {
      fail(self, make_error(wire_code::io_error,
                            "an entry of " + std::to_string(n)
                              + " bytes exceeds the server's frame limit"));
      return false;
    }
    if (bytes + n > st.max_chunk_bytes
        || chunk.size() == protocol::max_entries_per_chunk) {
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

void flush(self_ptr self) {
  auto& st = self->state;
  while (!st.ready.empty() && st.unacked < protocol::chunk_window) {
    st.matched += st.ready.front().size();
    ++st.unacked;
    st.sent_since_tick = true;
    self->send(st.conn, atom::chunk_v, st.id, std::move(st.ready.front()));
    st.ready.pop_front();
  }
  if (st.ready.empty() && st.exhausted && !st.stepping) {
    self->send(st.conn, atom::done_v, st.id, st.matched, st.walk->visited());
    self->quit();
  }
}

void step(self_ptr self) {
  auto& st = self->state;
  if (!st.walk || st.stepping || st.exhausted
      || st.unacked + st.ready.size() >= protocol::chunk_window)
    return;
  st.stepping = true;
  self->request(worker(self), caf::infinite, atom::find_v, st.walk)
    .then(
      [self](node::find_batch& batch) {
        auto& st = self->state;
        st.stepping = false;
        st.exhausted = batch.done;
        if (!batch.matches.empty() && !cut(self, batch.matches))
          return;
        flush(self);
        step(self);
      },
      [self](caf::error& err) { fail(self, std::move(err)); });
}

} // namespace

finder_actor::behavior_type
finder(finder_actor::stateful_pointer<finder_state> self,
       client_connection_actor conn, worker_pool pool,
       protocol::find_request req, size_t max_chunk_bytes) {
  auto& st = self->state;
  st.conn = std::move(conn);
  st.pool = std::move(pool);
  st.id = req.id;
  st.max_chunk_bytes = max_chunk_bytes;
  st.bulk = (req.flags & protocol::find_flags::with_hashes) != 0
            || req.sha256.has_value();
  self->request(worker(self), caf::infinite, atom::find_v, std::move(req))
    .then(
      [self](find_walk_ptr& walk) {
        self->state.walk = std::move(walk);
        step(self);
      },
      [self](caf::error& err) { fail(self, std::move(err)); });
  self->delayed_send(self, lister_progress_interval, atom::tick_v);
  return {
    [self](atom::ack) {
      auto& st = self->state;
      if (st.unacked > 0)
        --st.unacked;
      flush(self);
      step(self);
    },
    [self](atom::tick) {
      auto& st = self->state;
      // Chunks going out show the server that the walk lives.
      if (!st.sent_since_tick && st.walk)
        self->send(st.conn, atom::progress_v, st.id, st.walk->visited());
      st.sent_since_tick = false;
      self->delayed_send(self, lister_progress_interval, atom::tick_v);
    },
  };
}

} // namespace dirscope
