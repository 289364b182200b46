#include "actors/server/peek.hpp"

#include "actors/error.hpp"
#include "node/sha256.hpp"
#include "protocol/messages.hpp"

namespace dirscope {

namespace {

using peek_ptr = peek_actor::stateful_pointer<peek_state>;

std::string bytes_text(uint64_t n) {
  return std::to_string(n) + (n == 1 ? " byte" : " bytes");
}

failure over_cap(const peek_state& st) {
  auto& job = st.job;
  std::string what;
  switch (job.kind) {
    case shell::peek_kind::cat:
      what = job.shown + " is larger than the cap of " + bytes_text(job.cap);
      break;
    case shell::peek_kind::head:
      what = "the first " + std::to_string(job.lines) + " lines of "
             + job.shown + " are longer than the cap of "
             + bytes_text(job.cap);
      break;
    case shell::peek_kind::tail:
      what = "the last " + std::to_string(job.lines) + " lines of "
             + job.shown + " are longer than the cap of "
             + bytes_text(job.cap);
      break;
  }
  return {wire_code::bad_request,
          what + " (--max raises it, up to 256M; get fetches any size)"};
}

void deliver(peek_ptr self, outcome<std::string> x) {
  auto& st = self->state;
  if (x)
    st.promise.deliver(std::move(*x));
  else
    st.promise.deliver(to_error(x.error()));
  self->quit();
}

/// The answer is known before the transfer ended: stop it. The request then
/// ends (cancelled, or done if the end was already on its way) and delivers
/// `x`.
void decide(peek_ptr self, outcome<std::string> x) {
  auto& st = self->state;
  if (st.answer)
    return;
  st.answer = std::move(x);
  self->send(st.job.conn, atom::cancel_v, st.job.origin.query);
}

/// Every byte arrived: the answer from what is held.
outcome<std::string> conclude(peek_state& st, uint64_t size,
                              const protocol::sha256_digest& sha256) {
  auto& job = st.job;
  switch (job.kind) {
    case shell::peek_kind::cat:
      // All of it from offset 0: the node's SHA-256 covers exactly this.
      if (st.base != 0 || st.data.size() != size
          || node::sha256_bytes(st.data) != sha256)
        return failure{wire_code::io_error,
                       job.shown + ": the bytes received do not match the "
                                   "node's SHA-256 of the file"};
      return std::move(st.data);
    case shell::peek_kind::head: {
      auto n = shell::head_length(st.data, job.lines);
      st.data.resize(n ? *n : st.data.size());
      return std::move(st.data);
    }
    case shell::peek_kind::tail: {
      auto start = shell::tail_start(st.data, job.lines);
      if (!start && st.base != 0)
        return over_cap(st);
      auto from = start ? *start : 0;
      if (st.data.size() - from > job.cap)
        return over_cap(st);
      return st.data.substr(from);
    }
  }
  return failure{wire_code::internal, "unknown peek kind"};
}

void request_from(peek_ptr self, uint64_t offset);

/// The tail of a file larger than the cap: asks again for its end only.
void restart_at_tail(peek_ptr self) {
  auto& st = self->state;
  st.restarting = false;
  // One byte before the window shows whether a line starts there.
  auto want = st.job.cap + 1;
  request_from(self, *st.size > want ? *st.size - want : 0);
}

void request_from(peek_ptr self, uint64_t offset) {
  auto& st = self->state;
  st.offset = offset;
  st.base = offset;
  st.data.clear();
  st.size.reset();
  auto sink = caf::actor_cast<transfer_sink_actor>(self);
  self->request(st.job.conn, caf::infinite, atom::get_v, st.job.origin,
                st.job.path, offset, protocol::transfer_meta, sink)
    .then(
      [self](uint64_t size, protocol::sha256_digest& sha256) {
        auto& st = self->state;
        if (st.answer)
          return deliver(self, std::move(*st.answer));
        if (st.restarting)
          // The whole file came before the cancel reached the node (a
          // window of large chunks can hold it): what came was dropped.
          return restart_at_tail(self);
        deliver(self, conclude(st, size, sha256));
      },
      [self](caf::error& err) {
        auto& st = self->state;
        if (st.answer)
          return deliver(self, std::move(*st.answer));
        if (st.restarting && st.size)
          return restart_at_tail(self);
        st.promise.deliver(std::move(err));
        self->quit();
      });
}

} // namespace

peek_actor::behavior_type
peek(peek_actor::stateful_pointer<peek_state> self, peek_job job) {
  self->state.job = std::move(job);
  return {
    [self](atom::get) -> caf::result<std::string> {
      auto& st = self->state;
      st.promise = self->make_response_promise<std::string>();
      request_from(self, 0);
      return st.promise;
    },
    [self](atom::meta, uint64_t query, uint64_t size, uint32_t, int64_t) {
      auto& st = self->state;
      if (query != st.job.origin.query || st.answer || st.restarting)
        return;
      st.size = size;
      if (size <= st.job.cap)
        return;
      if (st.job.kind == shell::peek_kind::cat)
        return decide(self, over_cap(st));
      if (st.job.kind == shell::peek_kind::tail && st.offset == 0) {
        st.restarting = true;
        self->send(st.job.conn, atom::cancel_v, st.job.origin.query);
      }
    },
    [self](atom::data, uint64_t query, uint64_t offset, std::string& bytes) {
      auto& st = self->state;
      if (query != st.job.origin.query || st.answer || st.restarting)
        return;
      if (offset != st.base + st.data.size())
        return decide(self, failure{wire_code::protocol_error,
                                    "data out of order"});
      st.data += bytes;
      auto& job = st.job;
      switch (job.kind) {
        case shell::peek_kind::cat:
          if (st.data.size() > job.cap)
            return decide(self, over_cap(st));
          break;
        case shell::peek_kind::head:
          if (auto n = shell::head_length(st.data, job.lines)) {
            st.data.resize(*n);
            return decide(self, std::move(st.data));
          }
          if (st.data.size() >= job.cap)
            return decide(self, over_cap(st));
          break;
        case shell::peek_kind::tail: {
          // A node without file_meta sends all of it: keep the window.
          auto keep = job.cap + 1;
          if (st.data.size() > 2 * keep) {
            auto drop = st.data.size() - keep;
            st.data.erase(0, drop);
            st.base += drop;
          }
          break;
        }
      }
      self->send(job.conn, atom::ack_v, query);
    },
  };
}

} // namespace dirscope
