#include "actors/client/transfer.hpp"

#include <spdlog/spdlog.h>

#include "actors/error.hpp"
#include "protocol/names.hpp"

namespace dirscope {

// -- downloads ----------------------------------------------------------------

namespace {

using sender_ptr = file_sender_actor::stateful_pointer<file_sender_state>;

void send_failure(sender_ptr self, caf::error err) {
  self->send(self->state.conn, atom::failed_v, self->state.id, std::move(err));
  self->quit();
}

/// Asks for the next chunks while the window has room: the worker answers
/// in order, so reads run ahead of the round trips to it and to the
/// connection.
void pump(sender_ptr self) {
  auto& st = self->state;
  if (!st.reader || st.ended)
    return;
  while (st.reading + st.handing_over + st.unacked < protocol::data_window) {
    ++st.reading;
    self->request(st.worker, caf::infinite, atom::read_v, st.reader)
      .then(
        [self](node::file_chunk& x) {
          auto& st = self->state;
          --st.reading;
          if (st.ended)
            return; // a read queued behind the end
          if (x.end) {
            st.ended = true;
            // After every chunk handed over: messages to one actor keep
            // their order.
            self->send(st.conn, atom::done_v, st.id, x.size, x.sha256);
            self->quit();
            return;
          }
          ++st.unacked;
          ++st.handing_over;
          self
            ->request(st.conn, caf::infinite, atom::data_v, st.id, x.offset,
                      std::move(x.data))
            .then(
              [self] {
                --self->state.handing_over;
                pump(self);
              },
              [self](caf::error&) {
                // The request ended in the connection (cancelled, closed).
                self->quit();
              });
        },
        [self](caf::error& err) {
          if (!self->state.ended)
            send_failure(self, std::move(err));
        });
  }
}

} // namespace

file_sender_actor::behavior_type
file_sender(file_sender_actor::stateful_pointer<file_sender_state> self,
            client_connection_actor conn, fs_worker_actor worker,
            uint32_t id, std::string path, uint64_t offset, bool tree,
            size_t max_chunk, bool meta) {
  auto& st = self->state;
  st.conn = std::move(conn);
  st.worker = std::move(worker);
  st.id = id;
  st.max_chunk = max_chunk;
  self->request(st.worker, caf::infinite, atom::get_v, std::move(path), offset,
                tree)
    .then(
      [self, meta](node::file_reader_ptr& reader) {
        // Sent before the first chunk: both go to the connection in order.
        if (meta)
          self->send(self->state.conn, atom::meta_v, self->state.id,
                     reader->size(), reader->mode(), reader->mtime_ns());
        // Set before the first read, which happens-after this message.
        reader->limit_chunks(self->state.max_chunk);
        self->state.reader = std::move(reader);
        pump(self);
      },
      [self](caf::error& err) { send_failure(self, std::move(err)); });
  return {
    [self](atom::ack) {
      auto& st = self->state;
      if (st.unacked > 0)
        --st.unacked;
      pump(self);
    },
  };
}

// -- uploads ------------------------------------------------------------------

namespace {

using receiver_ptr
  = file_receiver_actor::stateful_pointer<file_receiver_state>;

void receive_failure(receiver_ptr self, caf::error err) {
  auto& st = self->state;
  if (st.failed)
    return;
  st.failed = true;
  self->send(st.conn, atom::failed_v, st.id, std::move(err));
  self->quit();
}

void write_chunk(receiver_ptr self, uint64_t offset, std::string& bytes) {
  auto& st = self->state;
  self->request(st.worker, caf::infinite, atom::write_v, st.writer, offset,
                std::move(bytes))
    .then(
      [self](uint64_t) {
        auto& st = self->state;
        if (!st.failed)
          self->send(st.conn, atom::ack_v, st.id);
      },
      [self](caf::error& err) { receive_failure(self, std::move(err)); });
}

void commit(receiver_ptr self, uint64_t size,
            const protocol::sha256_digest& sha256) {
  auto& st = self->state;
  // Queued behind every write on the same worker.
  self->request(st.worker, caf::infinite, atom::commit_v, st.writer, size,
                sha256)
    .then(
      [self](uint64_t n) {
        auto& st = self->state;
        if (st.failed)
          return;
        self->send(st.conn, atom::commit_v, st.id, n);
        self->quit();
      },
      [self](caf::error& err) { receive_failure(self, std::move(err)); });
}

} // namespace

namespace {

/// Creates the temporary file (or adopts a partial one) and writes what
/// arrived meanwhile.
template <class Request>
void open_writer(receiver_ptr self, Request&& req) {
  std::forward<Request>(req).then(
      [self](node::file_writer_ptr& writer) {
        auto& st = self->state;
        st.writer = std::move(writer);
        while (!st.early.empty()) {
          auto [offset, bytes] = std::move(st.early.front());
          st.early.pop_front();
          write_chunk(self, offset, bytes);
        }
        if (st.early_commit)
          commit(self, st.early_commit->first, st.early_commit->second);
      },
      [self](caf::error& err) { receive_failure(self, std::move(err)); });
}

} // namespace

file_receiver_actor::behavior_type
file_receiver(file_receiver_actor::stateful_pointer<file_receiver_state> self,
              client_connection_actor conn, fs_worker_actor worker,
              uint32_t id, std::string path, bool tree,
              std::optional<uint64_t> declared, bool meta, bool resume) {
  auto& st = self->state;
  st.conn = std::move(conn);
  st.worker = std::move(worker);
  st.id = id;
  st.declared = declared;
  st.resume = resume;
  if (meta)
    st.path = std::move(path); // the writer waits for file_meta
  else
    open_writer(self, self->request(st.worker, caf::infinite, atom::put_v,
                                    uint64_t{id}, std::move(path), tree));
  return {
    [self](atom::cancel) {
      auto& st = self->state;
      st.failed = true;
      if (st.writer)
        st.writer->discard();
      self->quit();
    },
    [self](atom::meta, uint32_t mode, int64_t mtime_ns) {
      auto& st = self->state;
      if (st.failed)
        return;
      if (st.path.empty())
        return receive_failure(self, make_error(wire_code::bad_request,
                                                "unexpected file_meta"));
      open_writer(self, self->request(st.worker, caf::infinite, atom::put_v,
                                      uint64_t{st.id}, std::move(st.path),
                                      st.declared.value_or(0), mode,
                                      mtime_ns, st.resume));
      st.path.clear();
    },
    [self](atom::data, uint64_t offset, std::string& bytes) {
      auto& st = self->state;
      if (st.failed)
        return;
      // A resumed upload starts at the offset the server chose.
      st.received = offset + bytes.size();
      if (st.declared && st.received > *st.declared)
        return receive_failure(self, make_error(
                                       wire_code::bad_request,
                                       "more bytes than the "
                                         + std::to_string(*st.declared)
                                         + " the upload declared"));
      if (!st.writer) {
        st.early.emplace_back(offset, std::move(bytes));
        return;
      }
      write_chunk(self, offset, bytes);
    },
    [self](atom::commit, uint64_t size,
           const protocol::sha256_digest& sha256) {
      auto& st = self->state;
      if (st.failed)
        return;
      if (st.declared
          && (size != *st.declared || (!st.resume && st.received != size)))
        return receive_failure(self, make_error(
                                       wire_code::bad_request,
                                       "the upload declared "
                                         + std::to_string(*st.declared)
                                         + " bytes and sent "
                                         + std::to_string(st.received)));
      if (!st.writer) {
        st.early_commit.emplace(size, sha256);
        return;
      }
      commit(self, size, sha256);
    },
  };
}

} // namespace dirscope
