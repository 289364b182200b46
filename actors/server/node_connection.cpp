#include "actors/server/node_connection.hpp"

#include <limits>

#include <caf/io/doorman.hpp>
#include <caf/io/system_messages.hpp>
#include <caf/send.hpp>
#include <spdlog/spdlog.h>

#include "actors/error.hpp"
#include "actors/wire_io.hpp"
#include "protocol/names.hpp"
#include "protocol/paths.hpp"
#include "tls/pki.hpp"

namespace dirscope {

const char* command_of(const pending_request& req) {
  switch (req.kind) {
    case request_kind::list:
      return "ls";
    case request_kind::stat:
      return "stat";
    case request_kind::du:
      return "du";
    case request_kind::remove:
      return req.recursive ? "rm -r" : "rm";
    case request_kind::get:
      return "get";
    case request_kind::put:
      return "put";
  }
  return "?";
}

node_connection_state::~node_connection_state() {
  auto err = make_error(wire_code::io_error, "the node connection closed");
  for (auto& [id, req] : requests)
    req.reply.deliver(err);
}

std::map<uint32_t, pending_request>::iterator
node_connection_state::find_query(uint64_t query) {
  // Linear: at most max_in_flight entries, and no second index to keep in
  // step with the table.
  for (auto i = requests.begin(); i != requests.end(); ++i)
    if (i->second.query == query)
      return i;
  return requests.end();
}

std::string node_connection_state::who() const {
  return info.name.empty() ? std::string{"no hello yet"}
                           : protocol::escape_name(info.name);
}

namespace {

using self_ptr = node_connection_broker;
using state = node_connection_state;
using request_iter = std::map<uint32_t, pending_request>::iterator;

/// Sends `xs` to `self` after `delay`. Anonymous on purpose: a delayed
/// message whose sender is the broker itself kept every broker that quit
/// before it fired alive for good (a closed connection leaked its actor,
/// ~2 KB, on every disconnect).
template <class... Ts>
void after(self_ptr self, caf::timespan delay, Ts... xs) {
  caf::delayed_anon_send(caf::actor_cast<caf::actor>(self), delay, xs...);
}

/// The request report of seed 001: one line per request to a node. A
/// failed request is the operator's news, shown by the shell: the report
/// logs it at info, so that a terminal (warnings only) does not show it
/// twice.
void report(const state& st, const pending_request& req, const failure* err,
            uint64_t count = 0, const char* unit = "items") {
  auto shown = protocol::escape_name(req.path);
  if (err == nullptr)
    spdlog::info("request node={} addr={} cmd={} path={} status=ok {}={}",
                 st.who(), st.info.endpoint(), command_of(req), shown, unit,
                 count);
  else if (err->code == wire_code::not_a_directory
           && req.kind == request_kind::list)
    // `ls FILE` asks for a listing first; the shell then shows the file
    // with a stat, whose report follows.
    spdlog::debug("request node={} addr={} cmd=ls path={} is not a "
                  "directory: the shell stats it",
                  st.who(), st.info.endpoint(), shown);
  else
    spdlog::info("request node={} addr={} cmd={} path={} status=failed "
                 "error={} message=\"{}\"",
                 st.who(), st.info.endpoint(), command_of(req), shown,
                 to_string(err->code), err->message);
}

// -- the request table --------------------------------------------------------

/// Ends request `i` with `why`; with `tell_node` the node is told to stop
/// (cancel). Late frames for its id are ignored from now on.
void fail_request(self_ptr self, request_iter i, const failure& why,
                  bool tell_node) {
  auto& st = self->state;
  auto id = i->first;
  report(st, i->second, &why);
  i->second.reply.deliver(to_error(why));
  st.requests.erase(i);
  if (tell_node)
    send_frame(self, st.hdl, st.chan, protocol::cancel{id});
}

/// Ends request `i` successfully; its reply was delivered by the caller.
void finish_request(self_ptr self, request_iter i, uint64_t count,
                    const char* unit = "items") {
  auto& st = self->state;
  report(st, i->second, nullptr, count, unit);
  st.requests.erase(i);
}

void fail_all(self_ptr self, const failure& why) {
  auto& st = self->state;
  while (!st.requests.empty())
    fail_request(self, st.requests.begin(), why, false);
}

/// Request `id` saw no frame in time: fails it and cancels it on the node.
void expire_request(self_ptr self, uint32_t id) {
  auto& st = self->state;
  auto i = st.requests.find(id);
  if (i == st.requests.end())
    return;
  auto now = self->clock().now();
  if (i->second.deadline > now) {
    after(self, i->second.deadline - now, atom::timeout_v, id);
    return;
  }
  failure why{wire_code::timeout,
              "the node did not answer within "
                + std::to_string(st.settings.request_timeout.count() / 1000)
                + " s"};
  fail_request(self, i, why, true);
}

/// The console gave up on query `query` (Ctrl-C, a failed write).
void cancel_query(self_ptr self, uint64_t query) {
  auto& st = self->state;
  auto i = st.find_query(query);
  if (i != st.requests.end())
    fail_request(self, i, {wire_code::cancelled, "cancelled"}, true);
}

/// A request id not in flight: ids grow monotonically and, after wrapping,
/// skip 0 and ids still in flight.
uint32_t next_request_id(state& st) {
  for (;;) {
    auto id = st.next_request++;
    if (st.next_request == 0)
      st.next_request = 1;
    if (id != 0 && st.requests.count(id) == 0)
      return id;
  }
}

/// Checks that a new request for `path` may go out now.
caf::error admit_request(self_ptr self, const std::string& path) {
  auto& st = self->state;
  if (st.stage != state::phase::joined)
    return make_error(wire_code::io_error, "the node is disconnecting");
  if (st.in_flight() >= st.settings.max_in_flight)
    return make_error(wire_code::too_many_requests,
                      "too many requests in flight for this node");
  if (auto checked = protocol::split_node_path(path, st.settings.max_path);
      !checked)
    return to_error(checked.error());
  return caf::none;
}

/// Enters `req` in the table under a fresh id, sends the request frame
/// `make(id)` builds and arms the request timer. Returns the reply promise.
template <class MakeFrame>
caf::response_promise start_request(self_ptr self, pending_request req,
                                    MakeFrame make) {
  auto& st = self->state;
  auto id = next_request_id(st);
  req.reply = self->make_response_promise();
  req.deadline = self->clock().now() + st.settings.request_timeout;
  auto promise = req.reply;
  st.requests.emplace(id, std::move(req));
  send_frame(self, st.hdl, st.chan, make(id));
  after(self, st.settings.request_timeout, atom::timeout_v, id);
  return promise;
}

/// The request `id` of kind `kind`, if it is in flight.
request_iter find_request(state& st, uint32_t id, request_kind kind) {
  auto i = st.requests.find(id);
  if (i == st.requests.end() || i->second.kind != kind)
    return st.requests.end();
  return i;
}

// -- closing ------------------------------------------------------------------

/// Ends the connection: fails what is in flight, optionally says goodbye,
/// ends the TLS session (close_notify) and closes.
void close(self_ptr self, const failure& why, bool say_goodbye,
           caf::error exit_reason) {
  auto& st = self->state;
  if (st.stage == state::phase::closing)
    return;
  fail_all(self, why);
  if (say_goodbye)
    send_frame(self, st.hdl, st.chan, protocol::goodbye{why.code, why.message});
  close_channel(self, st.hdl, st.chan);
  st.stage = state::phase::closing;
  self->quit(std::move(exit_reason));
}

/// Turns the node away before it joined (reject, then close).
void reject(self_ptr self, wire_code code, const std::string& reason,
            caf::error exit_reason) {
  auto& st = self->state;
  send_frame(self, st.hdl, st.chan, protocol::reject{code, reason});
  close_channel(self, st.hdl, st.chan);
  st.stage = state::phase::closing;
  self->quit(std::move(exit_reason));
}

void protocol_violation(self_ptr self, const std::string& what) {
  auto& st = self->state;
  spdlog::warn("closing connection {} ({}): protocol error: {}",
               st.info.endpoint(), st.who(), what);
  failure why{wire_code::protocol_error, what};
  close(self, why, true, to_error(why));
}

/// The request frame `msg` answers: end() for an id not in flight (late
/// frames of a cancelled or timed-out request are expected and ignored),
/// and end() after a protocol error if the id belongs to another kind of
/// request.
request_iter expect_request(self_ptr self, uint32_t id, request_kind kind,
                            const char* frame) {
  auto& st = self->state;
  auto i = st.requests.find(id);
  if (i == st.requests.end() || i->second.kind == kind)
    return i;
  protocol_violation(self, std::string{"unexpected "} + frame + " for a "
                             + command_of(i->second) + " request");
  return st.requests.end();
}

/// A failure below the frames: wrong transport, TLS, or undecodable bytes.
void on_transport_error(self_ptr self, const failure& err) {
  auto& st = self->state;
  if (st.stage == state::phase::closing)
    return;
  if (st.chan.wrong_transport()) {
    spdlog::warn("dropping connection {}: {}", st.info.endpoint(),
                 err.message);
    if (st.chan.secure()) {
      // Tell a plaintext dirscope client why, in its own language.
      auto frame = protocol::encode(protocol::reject{
        wire_code::tls_required,
        "this server accepts TLS connections only (the node runs with "
        "--tls=false)"});
      auto& buf = self->wr_buf(st.hdl);
      buf.insert(buf.end(), frame->begin(), frame->end());
      self->flush(st.hdl);
    }
    fail_all(self, err);
    st.stage = state::phase::closing;
    self->quit(to_error(err));
    return;
  }
  if (auto session = st.chan.session(); session && session->failed()) {
    spdlog::warn("TLS with {} ({}) failed: {}", st.info.endpoint(), st.who(),
                 err.message);
    failure why{wire_code::tls_failure, err.message};
    close(self, why, false, to_error(why));
    return;
  }
  protocol_violation(self, err.message);
}

// -- handshake ----------------------------------------------------------------

void on_hello(self_ptr self, protocol::hello& hello) {
  auto& st = self->state;
  if (hello.version != protocol::version) {
    auto reason = "server speaks protocol version "
                  + std::to_string(protocol::version) + ", node speaks "
                  + std::to_string(hello.version);
    spdlog::warn("rejecting {} ({}): {}", st.info.endpoint(),
                 protocol::escape_name(hello.node_name), reason);
    reject(self, wire_code::version_mismatch, reason,
           make_error(wire_code::version_mismatch, reason));
    return;
  }
  if (!st.settings.enrollment_token.empty()
      && !tls::token_equal(hello.token, st.settings.enrollment_token)) {
    // Never log the token itself.
    spdlog::warn("rejecting {} ({}): wrong or missing enrollment token",
                 st.info.endpoint(), protocol::escape_name(hello.node_name));
    reject(self, wire_code::unauthorized, "enrollment token refused",
           make_error(wire_code::unauthorized, "bad enrollment token"));
    return;
  }
  st.info.name = hello.node_name;
  st.info.hostname = hello.hostname;
  st.info.root = hello.root;
  st.info.capabilities = hello.capabilities;
  if (auto session = st.chan.session())
    st.info.tls_peer = session->peer_common_name();
  st.stage = state::phase::joining;
  auto conn = caf::actor_cast<node_connection_actor>(self);
  self->request(st.supervisor, caf::infinite, atom::join_v, st.info, conn)
    .then(
      [self](uint64_t id) {
        auto& st = self->state;
        if (st.stage != state::phase::joining)
          return;
        st.info.id = id;
        st.stage = state::phase::joined;
        protocol::welcome w{id, wall_clock_ns(),
                            static_cast<uint32_t>(
                              st.settings.heartbeat_interval.count()),
                            st.settings.max_frame};
        // Only a node that said it understands the field gets it.
        if (st.info.capabilities & protocol::capability::features)
          w.features = protocol::server_feature::list_progress;
        send_frame(self, st.hdl, st.chan, w);
        after(self, st.settings.heartbeat_interval, atom::tick_v);
      },
      [self](caf::error& err) {
        auto& st = self->state;
        if (st.stage != state::phase::joining)
          return;
        auto why = to_failure(err);
        spdlog::warn("rejecting node {} from {}: {}", st.who(),
                     st.info.endpoint(), why.message);
        reject(self, why.code, why.message, std::move(err));
      });
}

// -- replies from the node ----------------------------------------------------

bool valid_entry(const protocol::entry& x) {
  return protocol::is_valid_entry_name(x.name);
}

/// Text a node wrote for people may hold anything, including terminal
/// control sequences: it is shown escaped, like names.
void sanitize(protocol::entry& x) {
  if (x.error)
    x.error->message = protocol::escape_name(x.error->message);
}

void on_chunk(self_ptr self, protocol::entries_chunk& msg) {
  auto& st = self->state;
  auto i = expect_request(self, msg.id, request_kind::list, "entries_chunk");
  if (i == st.requests.end())
    return; // cancelled or timed out: late frames are expected
  auto& req = i->second;
  if (req.unacked >= protocol::chunk_window)
    return protocol_violation(self,
                              "entries_chunk beyond the window of "
                                + std::to_string(protocol::chunk_window)
                                + " unacknowledged chunks");
  for (auto& x : msg.entries) {
    if (!valid_entry(x))
      return protocol_violation(self, "entry with an invalid name");
    sanitize(x);
  }
  ++req.unacked;
  req.count += msg.entries.size();
  req.deadline = self->clock().now() + st.settings.request_timeout;
  self->send(req.entries_sink, atom::chunk_v, *req.query,
             std::move(msg.entries));
}

/// A listing still works on a large file: it is alive, not timed out.
void on_list_progress(self_ptr self, const protocol::list_progress& msg) {
  auto& st = self->state;
  auto i = expect_request(self, msg.id, request_kind::list, "list_progress");
  if (i == st.requests.end())
    return;
  i->second.deadline = self->clock().now() + st.settings.request_timeout;
}

void on_list_end(self_ptr self, const protocol::list_end& msg) {
  auto& st = self->state;
  auto i = expect_request(self, msg.id, request_kind::list, "list_end");
  if (i == st.requests.end())
    return;
  if (msg.total != i->second.count)
    return protocol_violation(self, "list_end count does not match entries");
  i->second.reply.deliver(msg.total, msg.sorted);
  finish_request(self, i, msg.total);
}

void on_stat_reply(self_ptr self, protocol::stat_reply& msg) {
  auto& st = self->state;
  auto i = expect_request(self, msg.id, request_kind::stat, "stat_reply");
  if (i == st.requests.end())
    return;
  if (msg.item.name != "/" && !valid_entry(msg.item))
    return protocol_violation(self, "stat reply with an invalid name");
  sanitize(msg.item);
  i->second.reply.deliver(std::move(msg.item));
  finish_request(self, i, 1);
}

void on_du_reply(self_ptr self, const protocol::du_reply& msg) {
  auto& st = self->state;
  auto i = expect_request(self, msg.id, request_kind::du, "du_reply");
  if (i == st.requests.end())
    return;
  // files + dirs + 1 (the target) is what rm would delete: no real tree
  // comes near 2^64 entries, so a sum that overflows is a lie.
  constexpr auto max = std::numeric_limits<uint64_t>::max();
  if (msg.files >= max - msg.dirs)
    return protocol_violation(self, "du_reply counts overflow");
  i->second.reply.deliver(msg);
  finish_request(self, i, 1);
}

void on_remove_reply(self_ptr self, const protocol::remove_reply& msg) {
  auto& st = self->state;
  auto i = expect_request(self, msg.id, request_kind::remove, "remove_reply");
  if (i == st.requests.end())
    return;
  i->second.reply.deliver(msg.removed);
  finish_request(self, i, msg.removed);
}

void on_request_failed(self_ptr self, const protocol::request_failed& msg) {
  auto& st = self->state;
  auto i = st.requests.find(msg.id);
  if (i == st.requests.end())
    return;
  fail_request(self, i, {msg.code, protocol::escape_name(msg.message)},
               false);
}

// -- transfers ----------------------------------------------------------------

void on_data_chunk(self_ptr self, protocol::data_chunk& msg) {
  auto& st = self->state;
  auto i = expect_request(self, msg.id, request_kind::get, "data_chunk");
  if (i == st.requests.end())
    return; // cancelled or timed out: late frames are expected
  auto& req = i->second;
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
  req.deadline = self->clock().now() + st.settings.request_timeout;
  self->send(req.data_sink, atom::data_v, *req.query, msg.offset,
             std::move(msg.data));
}

void on_download_end(self_ptr self, const protocol::download_end& msg) {
  auto& st = self->state;
  auto i = expect_request(self, msg.id, request_kind::get, "download_end");
  if (i == st.requests.end())
    return;
  if (msg.size != i->second.count)
    return protocol_violation(self, "download_end size does not match the "
                                    "data sent");
  i->second.reply.deliver(msg.size, msg.sha256);
  finish_request(self, i, msg.size, "bytes");
}

/// Pulls the next chunk of upload `id` from its source while the window
/// has room; the last one becomes upload_end.
void pump_upload(self_ptr self, uint32_t id) {
  auto& st = self->state;
  auto i = find_request(st, id, request_kind::put);
  if (i == st.requests.end())
    return;
  auto& req = i->second;
  if (req.reading || req.ended || req.unacked >= protocol::data_window)
    return;
  req.reading = true;
  self->request(req.source, caf::infinite, atom::read_v)
    .then(
      [self, id](node::file_chunk& x) {
        auto& st = self->state;
        auto i = find_request(st, id, request_kind::put);
        if (i == st.requests.end() || st.stage != state::phase::joined)
          return;
        auto& req = i->second;
        req.reading = false;
        if (x.end) {
          req.ended = true;
          if (req.tree)
            req.count = x.size; // known only now
          send_frame(self, st.hdl, st.chan,
                     protocol::upload_end{id, x.size, x.sha256});
          return;
        }
        ++req.unacked;
        send_frame(self, st.hdl, st.chan,
                   protocol::data_chunk{id, x.offset, std::move(x.data)});
        pump_upload(self, id);
      },
      [self, id](caf::error& err) {
        auto& st = self->state;
        auto i = find_request(st, id, request_kind::put);
        if (i != st.requests.end())
          fail_request(self, i, to_failure(err), true);
      });
}

/// A chunk_ack: the node wrote a chunk of an upload.
void on_chunk_ack(self_ptr self, uint32_t id) {
  auto& st = self->state;
  auto i = expect_request(self, id, request_kind::put, "chunk_ack");
  if (i == st.requests.end())
    return;
  if (i->second.unacked == 0)
    return protocol_violation(self, "chunk_ack for no data_chunk");
  --i->second.unacked;
  i->second.deadline = self->clock().now() + st.settings.request_timeout;
  pump_upload(self, id);
}

void on_upload_reply(self_ptr self, const protocol::upload_reply& msg) {
  auto& st = self->state;
  auto i = expect_request(self, msg.id, request_kind::put, "upload_reply");
  if (i == st.requests.end())
    return;
  if (!i->second.ended || msg.size != i->second.count)
    return protocol_violation(self, "upload_reply before the upload ended "
                                    "or with the wrong size");
  i->second.reply.deliver(msg.size);
  finish_request(self, i, msg.size, "bytes");
}

/// The consumer of list or get query `query` took one chunk: the node may
/// send another.
void on_consumer_ack(self_ptr self, uint64_t query) {
  auto& st = self->state;
  auto i = st.find_query(query);
  if (i == st.requests.end() || i->second.kind == request_kind::put
      || i->second.unacked == 0)
    return;
  --i->second.unacked;
  send_frame(self, st.hdl, st.chan, protocol::chunk_ack{i->first});
}

// -- frames -------------------------------------------------------------------

/// Dispatches one decoded frame; returns false once the connection closes.
bool on_frame(self_ptr self, protocol::message& msg) {
  auto& st = self->state;
  st.last_rx = self->clock().now();
  if (st.stage == state::phase::awaiting_hello) {
    if (auto hello = std::get_if<protocol::hello>(&msg)) {
      on_hello(self, *hello);
      return st.stage != state::phase::closing;
    }
    protocol_violation(self, std::string{"expected hello, got "}
                               + protocol::name_of(msg));
    return false;
  }
  if (st.stage == state::phase::joining) {
    if (auto x = std::get_if<protocol::goodbye>(&msg)) {
      // A node may stop while it waits for the welcome (e.g. SIGINT).
      spdlog::info("{} ({}) said goodbye before the welcome: {}",
                   st.info.endpoint(), st.who(),
                   protocol::escape_name(x->reason));
      close(self,
            {wire_code::io_error,
             "the node left: " + protocol::escape_name(x->reason)},
            false, caf::exit_reason::normal);
      return false;
    }
    protocol_violation(self, "frame before the welcome");
    return false;
  }
  if (st.stage == state::phase::closing)
    return false;
  if (std::holds_alternative<protocol::heartbeat_ack>(msg)) {
    self->send(st.supervisor, atom::heartbeat_v, st.info.id, wall_clock_ns());
  } else if (auto x = std::get_if<protocol::entries_chunk>(&msg)) {
    on_chunk(self, *x);
  } else if (auto x = std::get_if<protocol::list_end>(&msg)) {
    on_list_end(self, *x);
  } else if (auto x = std::get_if<protocol::list_progress>(&msg)) {
    on_list_progress(self, *x);
  } else if (auto x = std::get_if<protocol::stat_reply>(&msg)) {
    on_stat_reply(self, *x);
  } else if (auto x = std::get_if<protocol::request_failed>(&msg)) {
    on_request_failed(self, *x);
  } else if (auto x = std::get_if<protocol::du_reply>(&msg)) {
    on_du_reply(self, *x);
  } else if (auto x = std::get_if<protocol::remove_reply>(&msg)) {
    on_remove_reply(self, *x);
  } else if (auto x = std::get_if<protocol::data_chunk>(&msg)) {
    on_data_chunk(self, *x);
  } else if (auto x = std::get_if<protocol::download_end>(&msg)) {
    on_download_end(self, *x);
  } else if (auto x = std::get_if<protocol::chunk_ack>(&msg)) {
    on_chunk_ack(self, x->id);
  } else if (auto x = std::get_if<protocol::upload_reply>(&msg)) {
    on_upload_reply(self, *x);
  } else if (auto x = std::get_if<protocol::echo>(&msg)) {
    // The node's operator typed a line: show it, answer it reversed.
    self->send(st.supervisor, atom::echo_v, st.info.name, x->text);
    send_frame(self, st.hdl, st.chan,
               protocol::echo_reply{protocol::reverse_text(x->text)});
  } else if (auto x = std::get_if<protocol::goodbye>(&msg)) {
    spdlog::info("node {} ({}) said goodbye: {}", st.who(),
                 st.info.endpoint(), protocol::escape_name(x->reason));
    close(self,
          {wire_code::io_error,
           "the node left: " + protocol::escape_name(x->reason)},
          false, caf::exit_reason::normal);
  } else {
    protocol_violation(self, std::string{"unexpected "}
                               + protocol::name_of(msg) + " from a node");
  }
  return st.stage != state::phase::closing;
}

// -- back-pressure on the node ------------------------------------------------

/// Stops reading from a node that does not read what we write: its echo
/// replies and acks then wait in its own socket, not in our memory.
void check_backlog(self_ptr self) {
  auto& st = self->state;
  if (st.reading_paused || st.stage == state::phase::closing
      || self->wr_buf(st.hdl).size() <= output_backlog_limit)
    return;
  spdlog::debug("pausing reads from {} ({}): {} bytes wait for it",
                st.info.endpoint(), st.who(), self->wr_buf(st.hdl).size());
  st.reading_paused = true;
  self->halt(st.hdl);
  self->ack_writes(st.hdl, true);
}

/// Resumes reading once the backlog (`remaining` bytes) has halved.
void resume_reading(self_ptr self, size_t remaining) {
  auto& st = self->state;
  if (!st.reading_paused || st.stage == state::phase::closing
      || remaining > output_backlog_limit / 2)
    return;
  st.reading_paused = false;
  self->ack_writes(st.hdl, false);
  self->trigger(st.hdl);
}

/// Checks liveness, sends the heartbeat.
void on_tick(self_ptr self) {
  auto& st = self->state;
  if (st.stage == state::phase::closing)
    return;
  resume_reading(self, self->wr_buf(st.hdl).size());
  auto silence = self->clock().now() - st.last_rx;
  if (silence > st.settings.heartbeat_interval * st.settings.heartbeat_misses) {
    failure why{wire_code::timeout, "the node stopped answering heartbeats"};
    if (st.reading_paused)
      why.message = "the node stopped reading (" + std::to_string(
                      self->wr_buf(st.hdl).size())
                    + " bytes wait for it)";
    spdlog::warn("node {} ({}): {}: disconnecting", st.who(),
                 st.info.endpoint(), why.message);
    close(self, why, true, to_error(why));
    return;
  }
  send_frame(self, st.hdl, st.chan,
             protocol::heartbeat{++st.heartbeat_seq, wall_clock_ns()});
  after(self, st.settings.heartbeat_interval, atom::tick_v);
}

} // namespace

caf::behavior node_connection(node_connection_broker self,
                              caf::io::connection_handle hdl,
                              supervisor_actor supervisor,
                              server_settings settings, tls_context_ptr tls) {
  auto& st = self->state;
  st.hdl = hdl;
  if (tls) {
    auto session = tls::session::make(std::move(tls));
    if (!session) {
      spdlog::error("cannot start TLS for a connection: {}",
                    session.error().message);
      self->quit(to_error(session.error()));
      return {};
    }
    st.chan = channel{std::move(*session)};
  }
  st.supervisor = std::move(supervisor);
  st.settings = settings;
  st.decoder = protocol::frame_decoder{settings.max_frame};
  st.info.address = self->remote_addr(hdl);
  st.info.port = self->remote_port(hdl);
  st.last_rx = self->clock().now();
  self->configure_read(hdl, caf::io::receive_policy::at_most(read_size));
  spdlog::debug("connection from {}", st.info.endpoint());
  self->set_exit_handler([self](const caf::exit_msg& msg) {
    close(self, {wire_code::shutdown, "the server is shutting down"}, false,
          msg.reason);
    self->quit(msg.reason);
  });
  return {
    // -- bytes from the node --------------------------------------------------
    [self](const caf::io::new_data_msg& msg) {
      auto& st = self->state;
      auto err = consume_bytes(st.chan, st.decoder, msg.buf,
                               [self](protocol::message& x) {
                                 return on_frame(self, x);
                               });
      flush_channel(self, st.hdl, st.chan);
      if (err)
        return on_transport_error(self, *err);
      if (st.chan.peer_closed() && st.stage != state::phase::closing) {
        spdlog::debug("{} ({}) ended TLS (close_notify)", st.info.endpoint(),
                      st.who());
        close(self, {wire_code::io_error, "the node disconnected"}, false,
              make_error(wire_code::io_error, "the node disconnected"));
        return;
      }
      check_backlog(self);
    },
    [self](const caf::io::data_transferred_msg& msg) {
      resume_reading(self, msg.remaining);
    },
    [self](const caf::io::connection_closed_msg&) {
      auto& st = self->state;
      if (st.stage == state::phase::closing)
        return;
      spdlog::debug("connection {} closed by peer", st.info.endpoint());
      failure why{wire_code::io_error, "the node disconnected"};
      close(self, why, false, to_error(why));
    },
    // -- timers ---------------------------------------------------------------
    [self](atom::deadline) {
      auto& st = self->state;
      if (st.stage != state::phase::awaiting_hello)
        return;
      spdlog::warn("dropping connection {}: no hello within {} ms",
                   st.info.endpoint(), st.settings.handshake_timeout.count());
      close(self, {wire_code::timeout, "no hello in time"}, false,
            make_error(wire_code::timeout, "no hello in time"));
    },
    [self](atom::tick) { on_tick(self); },
    [self](atom::timeout, uint32_t id) { expire_request(self, id); },
    // -- requests from the console --------------------------------------------
    [self](atom::list, uint64_t query, std::string& path, uint8_t flags,
           listing_sink_actor& sink) -> caf::result<uint64_t, bool> {
      if (auto err = admit_request(self, path))
        return err;
      pending_request req;
      req.kind = request_kind::list;
      req.path = path;
      req.query = query;
      req.entries_sink = std::move(sink);
      return start_request(self, std::move(req), [&path, flags](uint32_t id) {
        return protocol::list_request{id, path, flags};
      });
    },
    [self](atom::ack, uint64_t query) { on_consumer_ack(self, query); },
    [self](atom::cancel, uint64_t query) { cancel_query(self, query); },
    [self](atom::stat, uint64_t query,
           std::string& path) -> caf::result<protocol::entry> {
      if (auto err = admit_request(self, path))
        return err;
      pending_request req;
      req.kind = request_kind::stat;
      req.path = path;
      req.query = query;
      return start_request(self, std::move(req), [&path](uint32_t id) {
        return protocol::stat_request{id, path};
      });
    },
    [self](atom::du, uint64_t query,
           std::string& path) -> caf::result<protocol::du_reply> {
      if (auto err = admit_request(self, path))
        return err;
      pending_request req;
      req.kind = request_kind::du;
      req.path = path;
      req.query = query;
      return start_request(self, std::move(req), [&path](uint32_t id) {
        return protocol::du_request{id, path};
      });
    },
    [self](atom::remove, uint64_t query, std::string& path,
           bool recursive) -> caf::result<uint64_t> {
      if (auto err = admit_request(self, path))
        return err;
      pending_request req;
      req.kind = request_kind::remove;
      req.recursive = recursive;
      req.path = path;
      req.query = query;
      return start_request(self, std::move(req), [&path, recursive](uint32_t id) {
        return protocol::remove_request{id, path, recursive};
      });
    },
    [self](atom::get, uint64_t query, std::string& path, uint64_t offset,
           bool tree, transfer_sink_actor& sink)
      -> caf::result<uint64_t, protocol::sha256_digest> {
      if (auto err = admit_request(self, path))
        return err;
      pending_request req;
      req.kind = request_kind::get;
      req.tree = tree;
      req.path = path;
      req.query = query;
      req.data_sink = std::move(sink);
      req.count = offset;
      return start_request(self, std::move(req), [&path, offset, tree](uint32_t id) {
        return protocol::download_request{
          id, path, offset, tree ? protocol::transfer_tree : uint8_t{0}};
      });
    },
    [self](atom::put, uint64_t query, std::string& path, uint64_t size,
           bool tree, upload_source_actor& source) -> caf::result<uint64_t> {
      if (auto err = admit_request(self, path))
        return err;
      pending_request req;
      req.kind = request_kind::put;
      req.tree = tree;
      req.path = path;
      req.query = query;
      req.source = std::move(source);
      req.count = size;
      uint32_t wire_id = 0;
      auto promise = start_request(self, std::move(req), [&wire_id, &path, size, tree](uint32_t id) {
        wire_id = id;
        return protocol::upload_request{
          id, path, size, tree ? protocol::transfer_tree : uint8_t{0}};
      });
      pump_upload(self, wire_id);
      return promise;
    },
    [self](atom::notice, std::string& text) {
      auto& st = self->state;
      if (st.stage != state::phase::joined)
        return;
      spdlog::info("request node={} addr={} cmd=notice status=ok bytes={}",
                   st.who(), st.info.endpoint(), text.size());
      send_frame(self, st.hdl, st.chan, protocol::notice{std::move(text)});
    },
    [self](atom::goodbye, const caf::error& reason) {
      close(self, to_failure(reason), true, caf::exit_reason::normal);
    },
  };
}

caf::behavior acceptor(caf::io::broker* self, caf::io::doorman_ptr doorman,
                       supervisor_actor supervisor, server_settings settings,
                       tls_context_ptr tls) {
  self->add_doorman(std::move(doorman));
  return {
    [self, supervisor, settings, tls](const caf::io::new_connection_msg& msg) {
      auto conn = self->fork(node_connection, msg.handle, supervisor,
                             settings, tls);
      self->send(supervisor, atom::connected_v,
                 caf::actor_cast<node_connection_actor>(conn));
    },
  };
}

} // namespace dirscope
