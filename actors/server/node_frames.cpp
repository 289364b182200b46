// Frames from a joined node: one handler per frame, each checking the
// frame against its request in the table (flow control is enforced here,
// where data arrives), and the upload pump's handover.

#include <limits>

#include <spdlog/spdlog.h>

#include "actors/error.hpp"
#include "actors/server/node_connection_ops.hpp"
#include "actors/wire_io.hpp"
#include "protocol/names.hpp"
#include "protocol/paths.hpp"

namespace dirscope::node_conn {

namespace {

/// Text a node wrote for people may hold anything, including terminal
/// control sequences: it is shown escaped, like names.
void sanitize(protocol::entry& x) {
  if (x.error)
    x.error->message = protocol::escape_name(x.error->message);
}

/// Restarts the clock of request `i`: data is flowing.
void touch(self_ptr self, request_iter i) {
  i->second.deadline = self->clock().now()
                       + self->state.settings.request_timeout;
}

/// The node left on its own (goodbye).
void on_goodbye(self_ptr self, const protocol::goodbye& x, const char* when) {
  auto& st = self->state;
  auto reason = protocol::escape_name(x.reason);
  spdlog::info("node {} ({}) said goodbye{}: {}", st.who(),
               st.info.endpoint(), when, reason);
  close(self, {wire_code::io_error, "the node left: " + reason}, false,
        caf::exit_reason::normal);
}

// -- listings -----------------------------------------------------------------

void on(self_ptr self, protocol::entries_chunk& msg) {
  auto i = expect_request(self, msg.id, request_kind::list, "entries_chunk");
  if (i == self->state.requests.end())
    return; // cancelled or timed out: late frames are expected
  auto& req = i->second;
  if (req.unacked >= protocol::chunk_window)
    return protocol_violation(self,
                              "entries_chunk beyond the window of "
                                + std::to_string(protocol::chunk_window)
                                + " unacknowledged chunks");
  for (auto& x : msg.entries) {
    if (!protocol::is_valid_entry_name(x.name))
      return protocol_violation(self, "entry with an invalid name");
    sanitize(x);
  }
  ++req.unacked;
  req.count += msg.entries.size();
  touch(self, i);
  self->send(req.entries_sink, atom::chunk_v, *req.query,
             std::move(msg.entries));
}

void on(self_ptr self, protocol::list_end& msg) {
  auto i = expect_request(self, msg.id, request_kind::list, "list_end");
  if (i == self->state.requests.end())
    return;
  if (msg.total != i->second.count)
    return protocol_violation(self, "list_end count does not match entries");
  i->second.reply.deliver(msg.total, msg.sorted);
  finish_request(self, i, msg.total);
}

/// A listing still hashes a large file: it is alive, not timed out.
void on(self_ptr self, protocol::list_progress& msg) {
  auto i = expect_request(self, msg.id, request_kind::list, "list_progress");
  if (i != self->state.requests.end())
    touch(self, i);
}

/// A listing or a stat still hashes a large file: it is alive, and the
/// shell may show how far it got.
void on(self_ptr self, protocol::hash_progress& msg) {
  auto& st = self->state;
  auto i = st.requests.find(msg.id);
  if (i == st.requests.end())
    return; // ended meanwhile
  auto& req = i->second;
  if (req.kind != request_kind::list && req.kind != request_kind::stat)
    return protocol_violation(self, std::string{"unexpected hash_progress "
                                                "for a "}
                                      + command_of(req) + " request");
  if (req.kind == request_kind::list
        ? !protocol::is_valid_entry_name(msg.name)
        : !msg.name.empty())
    return protocol_violation(self, "hash_progress with an invalid name");
  touch(self, i);
  if (req.entries_sink && req.query)
    self->send(req.entries_sink, atom::progress_v, *req.query,
               std::move(msg.name), msg.size, msg.hashed);
}

// -- finds --------------------------------------------------------------------

/// A find match names a path relative to the search root: "." or valid
/// entry names joined by '/', at most `max_depth` of them.
bool valid_match_path(const std::string& rel,
                      const std::optional<uint32_t>& max_depth) {
  if (rel == ".")
    return true;
  uint64_t depth = 0;
  size_t start = 0;
  for (;;) {
    auto slash = rel.find('/', start);
    auto part = rel.substr(start, slash == std::string::npos
                                    ? std::string::npos
                                    : slash - start);
    if (!protocol::is_valid_entry_name(part))
      return false;
    ++depth;
    if (slash == std::string::npos)
      break;
    start = slash + 1;
  }
  return !max_depth || depth <= *max_depth;
}

void on(self_ptr self, protocol::find_chunk& msg) {
  auto i = expect_request(self, msg.id, request_kind::find, "find_chunk");
  if (i == self->state.requests.end())
    return; // cancelled or timed out: late frames are expected
  auto& req = i->second;
  if (req.unacked >= protocol::chunk_window)
    return protocol_violation(self,
                              "find_chunk beyond the window of "
                                + std::to_string(protocol::chunk_window)
                                + " unacknowledged chunks");
  for (auto& x : msg.matches) {
    if (!valid_match_path(x.item.name, req.max_depth))
      return protocol_violation(self, "find match with an invalid path");
    sanitize(x.item);
  }
  ++req.unacked;
  req.count += msg.matches.size();
  touch(self, i);
  self->send(req.matches_sink, atom::chunk_v, *req.query,
             std::move(msg.matches));
}

void on(self_ptr self, protocol::find_end& msg) {
  auto i = expect_request(self, msg.id, request_kind::find, "find_end");
  if (i == self->state.requests.end())
    return;
  if (msg.matched != i->second.count)
    return protocol_violation(self, "find_end count does not match matches");
  i->second.reply.deliver(msg.matched, msg.visited);
  finish_request(self, i, msg.matched, "matches");
}

/// A find still walks: it is alive, not timed out.
void on(self_ptr self, protocol::find_progress& msg) {
  auto i = expect_request(self, msg.id, request_kind::find, "find_progress");
  if (i != self->state.requests.end())
    touch(self, i);
}

// -- single replies -----------------------------------------------------------

void on(self_ptr self, protocol::stat_reply& msg) {
  auto i = expect_request(self, msg.id, request_kind::stat, "stat_reply");
  if (i == self->state.requests.end())
    return;
  if (msg.item.name != "/" && !protocol::is_valid_entry_name(msg.item.name))
    return protocol_violation(self, "stat reply with an invalid name");
  sanitize(msg.item);
  i->second.reply.deliver(std::move(msg.item));
  finish_request(self, i, 1);
}

void on(self_ptr self, protocol::du_reply& msg) {
  auto i = expect_request(self, msg.id, request_kind::du, "du_reply");
  if (i == self->state.requests.end())
    return;
  // files + dirs + 1 (the target) is what rm would delete: no real tree
  // comes near 2^64 entries, so a sum that overflows is a lie.
  constexpr auto max = std::numeric_limits<uint64_t>::max();
  if (msg.files >= max - msg.dirs)
    return protocol_violation(self, "du_reply counts overflow");
  i->second.reply.deliver(msg);
  finish_request(self, i, 1);
}

void on(self_ptr self, protocol::remove_reply& msg) {
  auto i = expect_request(self, msg.id, request_kind::remove, "remove_reply");
  if (i == self->state.requests.end())
    return;
  i->second.reply.deliver(msg.removed);
  finish_request(self, i, msg.removed);
}

void on(self_ptr self, protocol::request_failed& msg) {
  auto& st = self->state;
  auto i = st.requests.find(msg.id);
  if (i != st.requests.end())
    fail_request(self, i, {msg.code, protocol::escape_name(msg.message)},
                 false);
}

// -- downloads ----------------------------------------------------------------

void on(self_ptr self, protocol::data_chunk& msg) {
  auto i = expect_request(self, msg.id, request_kind::get, "data_chunk");
  if (i == self->state.requests.end())
    return; // cancelled or timed out: late frames are expected
  auto& req = i->second;
  if (msg.data.size() > self->state.data_chunk_limit)
    return protocol_violation(self, "data_chunk of "
                                      + std::to_string(msg.data.size())
                                      + " bytes exceeds "
                                      + std::to_string(
                                        self->state.data_chunk_limit));
  if (req.unacked >= protocol::data_window)
    return protocol_violation(self,
                              "data_chunk beyond the window of "
                                + std::to_string(protocol::data_window)
                                + " unacknowledged chunks");
  if (msg.offset != req.count)
    return protocol_violation(self, "data_chunk at offset "
                                      + std::to_string(msg.offset)
                                      + ", expected "
                                      + std::to_string(req.count));
  ++req.unacked;
  req.count += msg.data.size();
  req.meta_closed = true;
  touch(self, i);
  self->send(req.data_sink, atom::data_v, *req.query, msg.offset,
             std::move(msg.data));
}

/// The node's file_meta of a download: once, before any data, and only if
/// the request asked for it.
void on(self_ptr self, protocol::file_meta& msg) {
  auto i = expect_request(self, msg.id, request_kind::get, "file_meta");
  if (i == self->state.requests.end())
    return;
  auto& req = i->second;
  if (!req.meta || req.meta_closed)
    return protocol_violation(self, "file_meta not asked for, repeated or "
                                    "after data");
  req.meta_closed = true;
  touch(self, i);
  self->send(req.data_sink, atom::meta_v, *req.query, msg.size, msg.mode,
             msg.mtime_ns);
}

void on(self_ptr self, protocol::download_end& msg) {
  auto i = expect_request(self, msg.id, request_kind::get, "download_end");
  if (i == self->state.requests.end())
    return;
  if (msg.size != i->second.count)
    return protocol_violation(self, "download_end size does not match the "
                                    "data sent");
  i->second.reply.deliver(msg.size, msg.sha256);
  finish_request(self, i, msg.size, "bytes");
}

// -- uploads ------------------------------------------------------------------

/// The node wrote a chunk of an upload.
void on(self_ptr self, protocol::chunk_ack& msg) {
  auto i = expect_request(self, msg.id, request_kind::put, "chunk_ack");
  if (i == self->state.requests.end())
    return;
  if (i->second.unacked == 0)
    return protocol_violation(self, "chunk_ack for no data_chunk");
  --i->second.unacked;
  touch(self, i);
  self->send(i->second.pump, atom::ack_v);
}

void on(self_ptr self, protocol::upload_reply& msg) {
  auto i = expect_request(self, msg.id, request_kind::put, "upload_reply");
  if (i == self->state.requests.end())
    return;
  if (!i->second.ended || msg.size != i->second.count)
    return protocol_violation(self, "upload_reply before the upload ended "
                                    "or with the wrong size");
  i->second.reply.deliver(msg.size);
  finish_request(self, i, msg.size, "bytes");
}

// -- everything else ----------------------------------------------------------

void on(self_ptr self, protocol::heartbeat_ack&) {
  self->state.liveness->last_ack_ns.store(wall_clock_ns(),
                                          std::memory_order_relaxed);
}

/// The node's operator typed a line: show it, answer it reversed.
void on(self_ptr self, protocol::echo& x) {
  auto& st = self->state;
  self->send(st.supervisor, atom::echo_v, st.info.name, x.text);
  write(self, protocol::echo_reply{protocol::reverse_text(x.text)});
}

void on(self_ptr self, protocol::goodbye& x) {
  on_goodbye(self, x, "");
}

/// Frames only a server sends, and a second hello.
template <class T>
void on(self_ptr self, T&) {
  protocol_violation(self, std::string{"unexpected "}
                             + protocol::name_of(protocol::message{T{}})
                             + " from a node");
}

} // namespace

bool on_frame(self_ptr self, protocol::message& msg) {
  auto& st = self->state;
  st.last_rx = self->clock().now();
  switch (st.stage) {
    case state::phase::awaiting_hello:
      if (auto hello = std::get_if<protocol::hello>(&msg))
        on_hello(self, *hello);
      else
        protocol_violation(self, std::string{"expected hello, got "}
                                   + protocol::name_of(msg));
      break;
    case state::phase::joining:
      // A node may stop while it waits for the welcome (e.g. SIGINT).
      if (auto bye = std::get_if<protocol::goodbye>(&msg))
        on_goodbye(self, *bye, " before the welcome");
      else
        protocol_violation(self, "frame before the welcome");
      break;
    case state::phase::joined:
      std::visit([self](auto& x) { on(self, x); }, msg);
      break;
    case state::phase::closing:
      break;
  }
  return st.stage != state::phase::closing;
}

void on_upload_data(self_ptr self, uint32_t id, uint64_t offset,
                    std::string& bytes) {
  auto& st = self->state;
  auto i = st.requests.find(id, request_kind::put);
  if (i == st.requests.end() || st.stage != state::phase::joined)
    return;
  ++i->second.unacked;
  write(self, protocol::data_chunk{id, offset, std::move(bytes)});
}

void on_upload_done(self_ptr self, uint32_t id, uint64_t size,
                    const protocol::sha256_digest& sha256) {
  auto& st = self->state;
  auto i = st.requests.find(id, request_kind::put);
  if (i == st.requests.end() || st.stage != state::phase::joined)
    return;
  i->second.ended = true;
  if (i->second.tree)
    i->second.count = size; // known only now
  write(self, protocol::upload_end{id, size, sha256});
}

void on_consumer_ack(self_ptr self, uint64_t query) {
  auto& st = self->state;
  auto i = st.requests.find_query(query);
  if (i == st.requests.end() || i->second.kind == request_kind::put
      || i->second.unacked == 0)
    return;
  --i->second.unacked;
  write(self, protocol::chunk_ack{i->first});
}

} // namespace dirscope::node_conn
