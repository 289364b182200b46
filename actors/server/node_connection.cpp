#include "actors/server/node_connection.hpp"

#include <caf/io/doorman.hpp>
#include <caf/io/system_messages.hpp>
#include <spdlog/spdlog.h>

#include "actors/error.hpp"
#include "actors/wire_io.hpp"
#include "protocol/names.hpp"
#include "protocol/paths.hpp"
#include "tls/pki.hpp"

namespace dirscope {

namespace {

using self_ptr = node_connection_broker;
using state = node_connection_state;

/// The request report of seed 001: one line per request to a node. A
/// failed request is the operator's news, shown by the shell: the report
/// logs it at info, so that a terminal (warnings only) does not show it
/// twice.
void report(const state& st, const char* command, const std::string& path,
            const failure* err, uint64_t count = 0,
            const char* unit = "items") {
  auto shown = protocol::escape_name(path);
  if (err == nullptr)
    spdlog::info("request node={} addr={} cmd={} path={} status=ok {}={}",
                 st.info.name, st.info.endpoint(), command, shown, unit,
                 count);
  else if (err->code == wire_code::not_a_directory
           && std::string_view{command} == "ls")
    // `ls FILE` asks for a listing first; the shell then shows the file
    // with a stat, whose report follows.
    spdlog::debug("request node={} addr={} cmd=ls path={} is not a "
                  "directory: the shell stats it",
                  st.info.name, st.info.endpoint(), shown);
  else
    spdlog::info("request node={} addr={} cmd={} path={} status=failed "
                 "error={} message=\"{}\"",
                 st.info.name, st.info.endpoint(), command, shown,
                 to_string(err->code), err->message);
}

void fail_all(self_ptr self, const failure& why) {
  auto& st = self->state;
  for (auto& [id, req] : st.lists) {
    report(st, "ls", req.path, &why);
    req.promise.deliver(to_error(why));
  }
  for (auto& [id, req] : st.stats) {
    report(st, "stat", req.path, &why);
    req.promise.deliver(to_error(why));
  }
  for (auto& [id, req] : st.ops) {
    report(st, req.command, req.path, &why);
    req.on_error(to_error(why));
  }
  for (auto& [id, req] : st.downloads) {
    report(st, "get", req.path, &why);
    req.promise.deliver(to_error(why));
  }
  for (auto& [id, req] : st.uploads) {
    report(st, "put", req.path, &why);
    req.promise.deliver(to_error(why));
  }
  st.lists.clear();
  st.stats.clear();
  st.ops.clear();
  st.downloads.clear();
  st.uploads.clear();
  st.queries.clear();
}

/// Ends the connection: fails what is in flight, optionally says goodbye
/// (`code` != ok means something went wrong on our side of the story).
void close(self_ptr self, const failure& why, bool say_goodbye,
           caf::error exit_reason) {
  auto& st = self->state;
  if (st.stage == state::phase::closing)
    return;
  fail_all(self, why);
  if (say_goodbye)
    send_frame(self, st.hdl, st.chan, protocol::goodbye{why.code, why.message});
  st.stage = state::phase::closing;
  self->quit(std::move(exit_reason));
}

void protocol_violation(self_ptr self, const std::string& what) {
  spdlog::warn("closing connection {} ({}): protocol error: {}",
               self->state.info.endpoint(),
               self->state.info.name.empty() ? "no hello yet"
                                             : self->state.info.name,
               what);
  failure why{wire_code::protocol_error, what};
  close(self, why, true, to_error(why));
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
      buf.insert(buf.end(), frame.begin(), frame.end());
      self->flush(st.hdl);
    }
    fail_all(self, err);
    st.stage = state::phase::closing;
    self->quit(to_error(err));
    return;
  }
  if (auto session = st.chan.session(); session && session->failed()) {
    spdlog::warn("TLS with {} ({}) failed: {}", st.info.endpoint(),
                 st.info.name.empty() ? "no hello yet" : st.info.name,
                 err.message);
    failure why{wire_code::tls_failure, err.message};
    close(self, why, false, to_error(why));
    return;
  }
  protocol_violation(self, err.message);
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

caf::actor_clock::time_point request_deadline(self_ptr self) {
  return self->clock().now() + self->state.settings.request_timeout;
}

void arm_request_timer(self_ptr self, uint32_t id) {
  self->delayed_send(self, self->state.settings.request_timeout,
                     atom::timeout_v, id);
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
    send_frame(self, st.hdl, st.chan,
               protocol::reject{wire_code::version_mismatch, reason});
    st.stage = state::phase::closing;
    self->quit(make_error(wire_code::version_mismatch, reason));
    return;
  }
  if (!st.settings.enrollment_token.empty()
      && !tls::token_equal(hello.token, st.settings.enrollment_token)) {
    // Never log the token itself.
    spdlog::warn("rejecting {} ({}): wrong or missing enrollment token",
                 st.info.endpoint(), protocol::escape_name(hello.node_name));
    send_frame(self, st.hdl, st.chan,
               protocol::reject{wire_code::unauthorized,
                                "enrollment token refused"});
    st.stage = state::phase::closing;
    self->quit(make_error(wire_code::unauthorized, "bad enrollment token"));
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
        send_frame(self, st.hdl, st.chan,
                   protocol::welcome{
                     id, wall_clock_ns(),
                     static_cast<uint32_t>(
                       st.settings.heartbeat_interval.count()),
                     st.settings.max_frame});
        self->delayed_send(self, st.settings.heartbeat_interval,
                           atom::tick_v);
      },
      [self](caf::error& err) {
        auto& st = self->state;
        auto why = to_failure(err);
        spdlog::warn("rejecting node {} from {}: {}",
                     protocol::escape_name(st.info.name), st.info.endpoint(),
                     why.message);
        send_frame(self, st.hdl, st.chan, protocol::reject{why.code, why.message});
        st.stage = state::phase::closing;
        self->quit(std::move(err));
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
  auto i = st.lists.find(msg.id);
  if (i == st.lists.end())
    return; // cancelled or timed out: late frames are expected
  for (auto& x : msg.entries) {
    if (!valid_entry(x))
      return protocol_violation(self, "entry with an invalid name");
    sanitize(x);
  }
  i->second.received += msg.entries.size();
  i->second.deadline = request_deadline(self);
  self->send(i->second.sink, atom::chunk_v, i->second.query,
             std::move(msg.entries));
}

void on_list_end(self_ptr self, const protocol::list_end& msg) {
  auto& st = self->state;
  auto i = st.lists.find(msg.id);
  if (i == st.lists.end())
    return;
  if (msg.total != i->second.received)
    return protocol_violation(self, "list_end count does not match entries");
  report(st, "ls", i->second.path, nullptr, msg.total);
  i->second.promise.deliver(msg.total, msg.sorted);
  st.queries.erase(i->second.query);
  st.lists.erase(i);
}

void on_stat_reply(self_ptr self, protocol::stat_reply& msg) {
  auto& st = self->state;
  auto i = st.stats.find(msg.id);
  if (i == st.stats.end())
    return;
  if (msg.item.name != "/" && !valid_entry(msg.item))
    return protocol_violation(self, "stat reply with an invalid name");
  sanitize(msg.item);
  report(st, "stat", i->second.path, nullptr, 1);
  i->second.promise.deliver(std::move(msg.item));
  st.stats.erase(i);
}

/// The final frame of a pending_op (du_reply, remove_reply).
void on_op_reply(self_ptr self, uint32_t id, protocol::message& msg) {
  auto& st = self->state;
  auto i = st.ops.find(id);
  if (i == st.ops.end())
    return;
  auto op = std::move(i->second);
  st.ops.erase(i);
  if (!op.on_reply(msg)) {
    failure why{wire_code::protocol_error,
                std::string{"unexpected "} + protocol::name_of(msg)
                  + " for a " + op.command + " request"};
    report(st, op.command, op.path, &why);
    op.on_error(to_error(why));
    return protocol_violation(self, why.message);
  }
  report(st, op.command, op.path, nullptr, 1);
}

/// Sends `msg` as request `id` and keeps `op` until its final frame.
void start_op(self_ptr self, uint32_t id, state::pending_op op,
              protocol::message msg) {
  auto& st = self->state;
  op.deadline = request_deadline(self);
  st.ops.emplace(id, std::move(op));
  send_frame(self, st.hdl, st.chan, msg);
  arm_request_timer(self, id);
}

void on_request_failed(self_ptr self, const protocol::request_failed& msg) {
  auto& st = self->state;
  failure why{msg.code, protocol::escape_name(msg.message)};
  if (auto k = st.ops.find(msg.id); k != st.ops.end()) {
    auto op = std::move(k->second);
    st.ops.erase(k);
    report(st, op.command, op.path, &why);
    op.on_error(to_error(why));
    return;
  }
  if (auto i = st.downloads.find(msg.id); i != st.downloads.end()) {
    report(st, "get", i->second.path, &why);
    i->second.promise.deliver(to_error(why));
    st.queries.erase(i->second.query);
    st.downloads.erase(i);
    return;
  }
  if (auto i = st.uploads.find(msg.id); i != st.uploads.end()) {
    report(st, "put", i->second.path, &why);
    i->second.promise.deliver(to_error(why));
    st.queries.erase(i->second.query);
    st.uploads.erase(i);
    return;
  }
  if (auto i = st.lists.find(msg.id); i != st.lists.end()) {
    report(st, "ls", i->second.path, &why);
    i->second.promise.deliver(to_error(why));
    st.queries.erase(i->second.query);
    st.lists.erase(i);
  } else if (auto j = st.stats.find(msg.id); j != st.stats.end()) {
    report(st, "stat", j->second.path, &why);
    j->second.promise.deliver(to_error(why));
    st.stats.erase(j);
  }
}

// -- transfers ----------------------------------------------------------------

void on_data_chunk(self_ptr self, protocol::data_chunk& msg) {
  auto& st = self->state;
  auto i = st.downloads.find(msg.id);
  if (i == st.downloads.end())
    return; // cancelled or timed out: late frames are expected
  auto& req = i->second;
  if (msg.offset != req.next_offset)
    return protocol_violation(self, "data_chunk at offset "
                                      + std::to_string(msg.offset)
                                      + ", expected "
                                      + std::to_string(req.next_offset));
  req.next_offset += msg.data.size();
  req.deadline = request_deadline(self);
  self->send(req.sink, atom::data_v, req.query, msg.offset,
             std::move(msg.data));
}

void on_download_end(self_ptr self, const protocol::download_end& msg) {
  auto& st = self->state;
  auto i = st.downloads.find(msg.id);
  if (i == st.downloads.end())
    return;
  if (msg.size != i->second.next_offset)
    return protocol_violation(self, "download_end size does not match the "
                                    "data sent");
  report(st, "get", i->second.path, nullptr, msg.size, "bytes");
  i->second.promise.deliver(msg.size, msg.sha256);
  st.queries.erase(i->second.query);
  st.downloads.erase(i);
}

/// Ends upload `id` with `why` and tells the node to drop it.
void fail_upload(self_ptr self, uint32_t id, const failure& why) {
  auto& st = self->state;
  auto i = st.uploads.find(id);
  if (i == st.uploads.end())
    return;
  report(st, "put", i->second.path, &why);
  i->second.promise.deliver(to_error(why));
  st.queries.erase(i->second.query);
  st.uploads.erase(i);
  send_frame(self, st.hdl, st.chan, protocol::cancel{id});
}

/// Pulls the next chunk of upload `id` from its source while the window
/// has room; the last one becomes upload_end.
void pump_upload(self_ptr self, uint32_t id) {
  auto& st = self->state;
  auto i = st.uploads.find(id);
  if (i == st.uploads.end())
    return;
  auto& req = i->second;
  if (req.reading || req.ended || req.unacked >= protocol::data_window)
    return;
  req.reading = true;
  self->request(req.source, caf::infinite, atom::read_v)
    .then(
      [self, id](node::file_chunk& x) {
        auto& st = self->state;
        auto i = st.uploads.find(id);
        if (i == st.uploads.end() || st.stage != state::phase::joined)
          return;
        auto& req = i->second;
        req.reading = false;
        if (x.end) {
          req.ended = true;
          if (req.tree)
            req.size = x.size; // known only now
          send_frame(self, st.hdl, st.chan,
                     protocol::upload_end{id, x.size, x.sha256});
          return;
        }
        ++req.unacked;
        send_frame(self, st.hdl, st.chan,
                   protocol::data_chunk{id, x.offset, std::move(x.data)});
        pump_upload(self, id);
      },
      [self, id](caf::error& err) { fail_upload(self, id, to_failure(err)); });
}

void on_upload_ack(self_ptr self, uint32_t id) {
  auto& st = self->state;
  auto i = st.uploads.find(id);
  if (i == st.uploads.end())
    return;
  if (i->second.unacked == 0)
    return protocol_violation(self, "chunk_ack for no data_chunk");
  --i->second.unacked;
  i->second.deadline = request_deadline(self);
  pump_upload(self, id);
}

void on_upload_reply(self_ptr self, const protocol::upload_reply& msg) {
  auto& st = self->state;
  auto i = st.uploads.find(msg.id);
  if (i == st.uploads.end())
    return;
  if (!i->second.ended || msg.size != i->second.size)
    return protocol_violation(self, "upload_reply before the upload ended "
                                    "or with the wrong size");
  report(st, "put", i->second.path, nullptr, msg.size, "bytes");
  i->second.promise.deliver(msg.size);
  st.queries.erase(i->second.query);
  st.uploads.erase(i);
}

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
                   st.info.endpoint(), protocol::escape_name(st.info.name),
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
  } else if (auto x = std::get_if<protocol::stat_reply>(&msg)) {
    on_stat_reply(self, *x);
  } else if (auto x = std::get_if<protocol::request_failed>(&msg)) {
    on_request_failed(self, *x);
  } else if (auto x = std::get_if<protocol::du_reply>(&msg)) {
    on_op_reply(self, x->id, msg);
  } else if (auto x = std::get_if<protocol::remove_reply>(&msg)) {
    on_op_reply(self, x->id, msg);
  } else if (auto x = std::get_if<protocol::data_chunk>(&msg)) {
    on_data_chunk(self, *x);
  } else if (auto x = std::get_if<protocol::download_end>(&msg)) {
    on_download_end(self, *x);
  } else if (auto x = std::get_if<protocol::chunk_ack>(&msg)) {
    on_upload_ack(self, x->id);
  } else if (auto x = std::get_if<protocol::upload_reply>(&msg)) {
    on_upload_reply(self, *x);
  } else if (auto x = std::get_if<protocol::echo>(&msg)) {
    // The node's operator typed a line: show it, answer it reversed.
    self->send(st.supervisor, atom::echo_v, st.info.name, x->text);
    send_frame(self, st.hdl, st.chan,
               protocol::echo_reply{protocol::reverse_text(x->text)});
  } else if (auto x = std::get_if<protocol::goodbye>(&msg)) {
    spdlog::info("node {} ({}) said goodbye: {}", st.info.name,
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

/// Checks liveness and request deadlines, sends the heartbeat.
void on_tick(self_ptr self) {
  auto& st = self->state;
  if (st.stage == state::phase::closing)
    return;
  auto now = self->clock().now();
  auto silence = now - st.last_rx;
  if (silence > st.settings.heartbeat_interval * st.settings.heartbeat_misses) {
    spdlog::warn("node {} ({}) missed {} heartbeats: disconnecting",
                 st.info.name, st.info.endpoint(),
                 st.settings.heartbeat_misses);
    failure why{wire_code::timeout, "the node stopped answering heartbeats"};
    close(self, why, true, to_error(why));
    return;
  }
  send_frame(self, st.hdl, st.chan,
             protocol::heartbeat{++st.heartbeat_seq, wall_clock_ns()});
  self->delayed_send(self, st.settings.heartbeat_interval, atom::tick_v);
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
  self->configure_read(hdl, caf::io::receive_policy::at_most(64 * 1024));
  spdlog::debug("connection from {}", st.info.endpoint());
  self->delayed_send(self, settings.handshake_timeout, atom::deadline_v);
  self->set_exit_handler([self](const caf::exit_msg& msg) {
    fail_all(self, {wire_code::shutdown, "the server is shutting down"});
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
        on_transport_error(self, *err);
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
      st.stage = state::phase::closing;
      self->quit(make_error(wire_code::timeout, "no hello in time"));
    },
    [self](atom::tick) { on_tick(self); },
    [self](atom::timeout, uint32_t id) {
      auto& st = self->state;
      auto now = self->clock().now();
      auto expire = [&](auto& map, const char* command) {
        auto i = map.find(id);
        if (i == map.end())
          return;
        if (i->second.deadline > now) {
          self->delayed_send(self, i->second.deadline - now, atom::timeout_v,
                             id);
          return;
        }
        failure why{wire_code::timeout,
                    "the node did not answer within "
                      + std::to_string(st.settings.request_timeout.count()
                                       / 1000)
                      + " s"};
        report(st, command, i->second.path, &why);
        send_frame(self, st.hdl, st.chan, protocol::cancel{id});
        i->second.promise.deliver(to_error(why));
        map.erase(i);
      };
      if (auto i = st.lists.find(id); i != st.lists.end()) {
        auto query = i->second.query;
        expire(st.lists, "ls");
        if (st.lists.count(id) == 0)
          st.queries.erase(query);
      }
      expire(st.stats, "stat");
      if (auto i = st.downloads.find(id); i != st.downloads.end()) {
        auto query = i->second.query;
        expire(st.downloads, "get");
        if (st.downloads.count(id) == 0)
          st.queries.erase(query);
      }
      if (auto i = st.uploads.find(id); i != st.uploads.end()) {
        auto query = i->second.query;
        expire(st.uploads, "put");
        if (st.uploads.count(id) == 0)
          st.queries.erase(query);
      }
      if (auto k = st.ops.find(id); k != st.ops.end()) {
        if (k->second.deadline > now) {
          self->delayed_send(self, k->second.deadline - now, atom::timeout_v,
                             id);
          return;
        }
        auto op = std::move(k->second);
        st.ops.erase(k);
        failure why{wire_code::timeout,
                    "the node did not answer within "
                      + std::to_string(st.settings.request_timeout.count()
                                       / 1000)
                      + " s"};
        report(st, op.command, op.path, &why);
        send_frame(self, st.hdl, st.chan, protocol::cancel{id});
        op.on_error(to_error(why));
      }
    },
    // -- requests from the console --------------------------------------------
    [self](atom::list, uint64_t query, std::string& path, uint8_t flags,
           listing_sink_actor& sink) -> caf::result<uint64_t, bool> {
      auto& st = self->state;
      if (auto err = admit_request(self, path))
        return err;
      auto id = st.next_request++;
      auto promise = self->make_response_promise<uint64_t, bool>();
      st.lists.emplace(id, state::pending_list{query, path, std::move(sink),
                                               promise, 0,
                                               request_deadline(self)});
      st.queries[query] = id;
      send_frame(self, st.hdl, st.chan, protocol::list_request{id, path, flags});
      arm_request_timer(self, id);
      return promise;
    },
    [self](atom::ack, uint64_t query) {
      auto& st = self->state;
      if (auto i = st.queries.find(query); i != st.queries.end())
        send_frame(self, st.hdl, st.chan, protocol::chunk_ack{i->second});
    },
    [self](atom::cancel, uint64_t query) {
      auto& st = self->state;
      auto i = st.queries.find(query);
      if (i == st.queries.end())
        return;
      auto id = i->second;
      st.queries.erase(i);
      if (auto j = st.lists.find(id); j != st.lists.end()) {
        failure why{wire_code::cancelled, "cancelled"};
        report(st, "ls", j->second.path, &why);
        j->second.promise.deliver(to_error(why));
        st.lists.erase(j);
        send_frame(self, st.hdl, st.chan, protocol::cancel{id});
      }
      auto cancel = [&](auto& map, const char* command) {
        auto j = map.find(id);
        if (j == map.end())
          return;
        failure why{wire_code::cancelled, "cancelled"};
        report(st, command, j->second.path, &why);
        j->second.promise.deliver(to_error(why));
        map.erase(j);
        send_frame(self, st.hdl, st.chan, protocol::cancel{id});
      };
      cancel(st.downloads, "get");
      cancel(st.uploads, "put");
    },
    [self](atom::stat, std::string& path) -> caf::result<protocol::entry> {
      auto& st = self->state;
      if (auto err = admit_request(self, path))
        return err;
      auto id = st.next_request++;
      auto promise = self->make_response_promise<protocol::entry>();
      st.stats.emplace(id, state::pending_stat{path, promise,
                                               request_deadline(self)});
      send_frame(self, st.hdl, st.chan, protocol::stat_request{id, std::move(path)});
      arm_request_timer(self, id);
      return promise;
    },
    [self](atom::du, std::string& path) -> caf::result<protocol::du_reply> {
      auto& st = self->state;
      if (auto err = admit_request(self, path))
        return err;
      auto id = st.next_request++;
      auto promise = self->make_response_promise<protocol::du_reply>();
      state::pending_op op;
      op.command = "du";
      op.path = path;
      op.on_reply = [promise](protocol::message& msg) mutable {
        auto x = std::get_if<protocol::du_reply>(&msg);
        if (x == nullptr)
          return false;
        promise.deliver(*x);
        return true;
      };
      op.on_error = [promise](const caf::error& err) mutable {
        promise.deliver(err);
      };
      start_op(self, id, std::move(op), protocol::du_request{id, path});
      return promise;
    },
    [self](atom::remove, std::string& path,
           bool recursive) -> caf::result<uint64_t> {
      auto& st = self->state;
      if (auto err = admit_request(self, path))
        return err;
      auto id = st.next_request++;
      auto promise = self->make_response_promise<uint64_t>();
      state::pending_op op;
      op.command = recursive ? "rm -r" : "rm";
      op.path = path;
      op.on_reply = [promise](protocol::message& msg) mutable {
        auto x = std::get_if<protocol::remove_reply>(&msg);
        if (x == nullptr)
          return false;
        promise.deliver(x->removed);
        return true;
      };
      op.on_error = [promise](const caf::error& err) mutable {
        promise.deliver(err);
      };
      start_op(self, id, std::move(op),
               protocol::remove_request{id, path, recursive});
      return promise;
    },
    [self](atom::get, uint64_t query, std::string& path, uint64_t offset,
           bool tree, transfer_sink_actor& sink)
      -> caf::result<uint64_t, protocol::sha256_digest> {
      auto& st = self->state;
      if (auto err = admit_request(self, path))
        return err;
      auto id = st.next_request++;
      auto promise
        = self->make_response_promise<uint64_t, protocol::sha256_digest>();
      st.downloads.emplace(id, state::pending_download{
                                 query, path, std::move(sink), promise,
                                 offset, request_deadline(self)});
      st.queries[query] = id;
      send_frame(self, st.hdl, st.chan,
                 protocol::download_request{
                   id, path, offset,
                   tree ? protocol::transfer_tree : uint8_t{0}});
      arm_request_timer(self, id);
      return promise;
    },
    [self](atom::put, uint64_t query, std::string& path, uint64_t size,
           bool tree, upload_source_actor& source) -> caf::result<uint64_t> {
      auto& st = self->state;
      if (auto err = admit_request(self, path))
        return err;
      auto id = st.next_request++;
      auto promise = self->make_response_promise<uint64_t>();
      state::pending_upload req;
      req.query = query;
      req.path = path;
      req.source = std::move(source);
      req.promise = promise;
      req.size = size;
      req.tree = tree;
      req.deadline = request_deadline(self);
      st.uploads.emplace(id, std::move(req));
      st.queries[query] = id;
      send_frame(self, st.hdl, st.chan,
                 protocol::upload_request{
                   id, path, size,
                   tree ? protocol::transfer_tree : uint8_t{0}});
      arm_request_timer(self, id);
      pump_upload(self, id);
      return promise;
    },
    [self](atom::notice, std::string& text) {
      auto& st = self->state;
      if (st.stage != state::phase::joined)
        return;
      spdlog::info("request node={} addr={} cmd=notice status=ok bytes={}",
                   st.info.name, st.info.endpoint(), text.size());
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
