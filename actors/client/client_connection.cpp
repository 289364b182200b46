#include "actors/client/client_connection.hpp"

#include <algorithm>

#include <caf/io/system_messages.hpp>
#include <caf/send.hpp>
#include <spdlog/spdlog.h>

#include "actors/client/finder.hpp"
#include "actors/client/lister.hpp"
#include "actors/client/transfer.hpp"
#include "actors/client/node_output.hpp"
#include "actors/error.hpp"
#include "actors/wire_io.hpp"
#include "node/find_walk.hpp"
#include "node/listing.hpp"
#include "protocol/names.hpp"
#include "protocol/paths.hpp"
#include "shell/render.hpp"

namespace dirscope {

bool ends_node(wire_code code) noexcept {
  switch (code) {
    case wire_code::ok:
    case wire_code::kicked:
    case wire_code::shutdown:
      return true;
    default:
      return false;
  }
}

namespace {

using self_ptr = client_connection_broker;
using state = client_connection_state;

void close(self_ptr self, caf::error reason) {
  auto& st = self->state;
  if (st.stage == state::phase::closing)
    return;
  st.stage = state::phase::closing;
  // A TLS peer learns that nothing was cut off (close_notify); quit()
  // flushes it before the socket closes.
  st.chan.close();
  flush_channel(self, st.hdl, st.chan);
  for (auto& [id, hdl] : st.listers)
    self->send_exit(hdl, caf::exit_reason::user_shutdown);
  st.listers.clear();
  for (auto& [id, hdl] : st.finders)
    self->send_exit(hdl, caf::exit_reason::user_shutdown);
  st.finders.clear();
  // Their temporary files go with them.
  for (auto& [id, hdl] : st.senders)
    self->send_exit(hdl, caf::exit_reason::user_shutdown);
  for (auto& [id, hdl] : st.receivers)
    self->send_exit(hdl, caf::exit_reason::user_shutdown);
  st.senders.clear();
  st.receivers.clear();
  st.outbox.clear();
  self->quit(std::move(reason));
}

/// Checks the server's liveness at least once a second.
///
/// The tick is sent anonymously: in CAF 0.17 a delayed message from the
/// broker to itself that arrives after the broker quit stays in its mailbox
/// and, naming the broker as its sender, keeps the broker alive for ever:
/// one leaked connection per reconnect. An anonymous tick frees the dead
/// broker when it fires, and ticking at least once a second keeps that wait
/// (and so the dead connections held at once) short.
void schedule_tick(self_ptr self) {
  auto& st = self->state;
  auto period = std::min(st.heartbeat_interval,
                         std::chrono::milliseconds{1'000});
  caf::delayed_anon_send(caf::actor_cast<caf::actor>(self), period,
                         atom::tick_v, st.tick_generation);
}

void protocol_violation(self_ptr self, const std::string& what) {
  spdlog::error("protocol error from the server: {}", what);
  auto& st = self->state;
  send_frame(self, st.hdl, st.chan, protocol::goodbye{wire_code::protocol_error, what});
  close(self, make_error(wire_code::protocol_error, what));
}

// -- replies and their flow control -------------------------------------------

/// Body bytes of `msg` on the wire (what max_frame limits); SIZE_MAX if
/// it cannot be encoded at all.
size_t body_size(const protocol::message& msg) {
  auto frame = protocol::encode(msg);
  return frame ? frame->size() - protocol::frame_header_size : SIZE_MAX;
}

/// Most entry bytes an entries_chunk may carry under `max_frame`.
size_t entries_room(uint32_t max_frame) {
  static const auto overhead = body_size(protocol::entries_chunk{});
  return max_frame - overhead;
}

/// Most match bytes a find_chunk may carry under `max_frame`.
size_t matches_room(uint32_t max_frame) {
  static const auto overhead = body_size(protocol::find_chunk{});
  return max_frame - overhead;
}

/// True if both sides have large_chunks: the server said so in its welcome
/// (only to a node that announced it).
bool large_chunks(self_ptr self) {
  return (self->state.server_features
          & protocol::server_feature::large_chunks)
         != 0;
}

/// Most data bytes a data_chunk may carry either way.
size_t data_chunk_limit(self_ptr self) {
  return large_chunks(self) ? protocol::max_large_chunk
                            : protocol::max_data_chunk;
}

/// Most data bytes a data_chunk we send may carry under `max_frame`.
size_t data_room(self_ptr self, uint32_t max_frame) {
  static const auto overhead = body_size(protocol::data_chunk{});
  return std::min<size_t>(data_chunk_limit(self), max_frame - overhead);
}

bool congested(self_ptr self) {
  return self->wr_buf(self->state.hdl).size() >= client_send_backlog;
}

/// True if the current message comes from the actor working on `id` in
/// `actors`: one that a cancel replaced under the same id is not.
template <class Map>
bool from_current(self_ptr self, const Map& actors, uint32_t id) {
  auto i = actors.find(id);
  return i != actors.end()
         && self->current_sender()
              == caf::actor_cast<caf::strong_actor_ptr>(i->second);
}

/// Stops whatever works on request `id` and drops its queued replies:
/// nothing more for `id` leaves the node after this.
void stop_request(self_ptr self, uint32_t id) {
  auto& st = self->state;
  auto stop = [self, id](auto& actors) {
    if (auto i = actors.find(id); i != actors.end()) {
      self->send_exit(i->second, caf::exit_reason::user_shutdown);
      actors.erase(i);
    }
  };
  stop(st.listers);
  stop(st.finders);
  stop(st.senders);
  stop(st.receivers);
  st.stat_hashes.erase(id);
  st.outbox.erase(std::remove_if(st.outbox.begin(), st.outbox.end(),
                                 [id](const state::outgoing& x) {
                                   return x.id == id;
                                 }),
                  st.outbox.end());
}

/// Writes one reply to the socket; chunks count against their window.
void write_reply(self_ptr self, state::outgoing& out) {
  auto& st = self->state;
  auto& frame = frame_scratch();
  frame.clear();
  auto bytes = protocol::encode(out.msg, frame);
  if (!bytes || *bytes - protocol::frame_header_size > st.peer_max_frame) {
    // Chunks shrink to fit; only what cannot be split gets here (a single
    // large entry, a long message), and it fails its request instead.
    auto what = bytes ? "a reply of "
                          + std::to_string(*bytes
                                           - protocol::frame_header_size)
                          + " bytes exceeds the server's frame limit of "
                          + std::to_string(st.peer_max_frame)
                      : bytes.error().message;
    spdlog::warn("request {} failed: {}", out.id, what);
    stop_request(self, out.id);
    st.in_flight.erase(out.id);
    protocol::request_failed failed{out.id, wire_code::io_error,
                                    std::move(what)};
    auto room = st.peer_max_frame - body_size(protocol::request_failed{});
    if (failed.message.size() > room)
      failed.message.resize(room);
    frame.clear();
    bytes = protocol::encode(failed, frame);
  } else if (auto i = st.in_flight.find(out.id); i != st.in_flight.end()) {
    if (std::holds_alternative<protocol::entries_chunk>(out.msg)
        || std::holds_alternative<protocol::find_chunk>(out.msg)
        || std::holds_alternative<protocol::data_chunk>(out.msg))
      ++i->second.unacked_out;
    else if (std::holds_alternative<protocol::chunk_ack>(out.msg)
             && i->second.unacked_in > 0)
      --i->second.unacked_in;
  }
  // A failed TLS session refuses writes; its failure surfaces on receive.
  if (bytes) {
    [[maybe_unused]] auto ok = st.chan.send(frame);
  }
  flush_channel(self, st.hdl, st.chan);
  if (out.written.pending())
    out.written.deliver(caf::unit);
}

/// Writes queued replies while the socket's write buffer has room.
void drain_outbox(self_ptr self) {
  auto& st = self->state;
  while (!st.outbox.empty() && st.stage == state::phase::serving
         && !congested(self)) {
    auto out = std::move(st.outbox.front());
    st.outbox.pop_front();
    write_reply(self, out);
  }
}

/// Sends a reply for request `id` after those already queued.
void send_reply(self_ptr self, uint32_t id, protocol::message msg,
                caf::response_promise written = {}) {
  self->state.outbox.push_back({id, std::move(msg), std::move(written)});
  drain_outbox(self);
}

void send_failed(self_ptr self, uint32_t id, const failure& why) {
  self->state.in_flight.erase(id);
  send_reply(self, id, protocol::request_failed{id, why.code, why.message});
}

/// Admits request `id` or answers it with a failure right away.
bool admit(self_ptr self, uint32_t id, const std::string& path) {
  auto& st = self->state;
  if (st.in_flight.count(id) != 0) {
    protocol_violation(self, "request id " + std::to_string(id)
                               + " is already in use");
    return false;
  }
  if (st.in_flight.size() >= client_max_in_flight) {
    send_failed(self, id, {wire_code::too_many_requests,
                           "too many requests in flight on this node"});
    return false;
  }
  if (auto checked = protocol::split_node_path(path); !checked) {
    spdlog::warn("refused request {} for {}: {}", id,
                 protocol::escape_name(path), checked.error().message);
    send_failed(self, id, checked.error());
    return false;
  }
  st.in_flight.emplace(id, state::flow{++st.serials});
  return true;
}

/// True while request `id` is the one numbered `serial` (not cancelled, not
/// replaced by a later request under the same id).
bool current(self_ptr self, uint32_t id, uint64_t serial) {
  auto& st = self->state;
  auto i = st.in_flight.find(id);
  return st.stage == state::phase::serving && i != st.in_flight.end()
         && i->second.serial == serial;
}

/// True if the server's welcome.features accepts hash_progress frames.
bool accepts_hash_progress(self_ptr self) {
  return (self->state.server_features
          & protocol::server_feature::hash_progress)
         != 0;
}

void on_list(self_ptr self, protocol::list_request& req) {
  if (!admit(self, req.id, req.path))
    return;
  spdlog::debug("list {} (request {})", protocol::escape_name(req.path),
                req.id);
  auto& st = self->state;
  auto conn = caf::actor_cast<client_connection_actor>(self);
  lister_config config;
  config.with_hashes = (req.flags & protocol::list_flags::with_hashes) != 0;
  config.late_rows = (req.flags & protocol::list_flags::late_rows) != 0;
  config.hash_progress = accepts_hash_progress(self);
  config.max_chunk_bytes = entries_room(st.peer_max_frame);
  auto hdl = self->spawn(lister, conn, st.pool, req.id, std::move(req.path),
                         config);
  st.listers.emplace(req.id, hdl);
}

void on_find(self_ptr self, protocol::find_request& req) {
  if (!admit(self, req.id, req.path))
    return;
  if (auto err = node::check_find_request(req))
    return send_failed(self, req.id, *err);
  spdlog::debug("find {} (request {})", protocol::escape_name(req.path),
                req.id);
  auto& st = self->state;
  auto conn = caf::actor_cast<client_connection_actor>(self);
  auto id = req.id;
  auto hdl = self->spawn(finder, conn, st.pool, std::move(req),
                         matches_room(st.peer_max_frame));
  st.finders.emplace(id, hdl);
}

/// Stat with the hash of a large file (`size` bytes), on a bulk worker;
/// the liveness tick reports its progress meanwhile (hash_progress).
void stat_bulk(self_ptr self, uint32_t id, uint64_t serial,
               const std::string& path, uint64_t size) {
  auto job = std::make_shared<node::hash_job>();
  self->state.stat_hashes[id] = state::stat_hash{serial, size, job};
  self->request(self->state.pool.pick_bulk(), caf::infinite, atom::stat_v,
                path, job)
    .then(
      [self, id, serial](protocol::entry& x) {
        if (!current(self, id, serial))
          return; // cancelled
        self->state.in_flight.erase(id);
        self->state.stat_hashes.erase(id);
        send_reply(self, id, protocol::stat_reply{id, std::move(x)});
      },
      [self, id, serial](caf::error& err) {
        if (!current(self, id, serial))
          return;
        self->state.stat_hashes.erase(id);
        send_failed(self, id, to_failure(err));
      });
}

/// One hash_progress per stat still hashing (to a server that accepts
/// them): its request timeout restarts, and the shell shows the bytes.
void report_stat_hashes(self_ptr self) {
  auto& st = self->state;
  if (!accepts_hash_progress(self))
    return;
  for (auto i = st.stat_hashes.begin(); i != st.stat_hashes.end();) {
    if (!current(self, i->first, i->second.serial)) {
      i = st.stat_hashes.erase(i);
      continue;
    }
    send_reply(self, i->first,
               protocol::hash_progress{i->first, {}, i->second.size,
                                       i->second.job->hashed.load()});
    ++i;
  }
}

void on_stat(self_ptr self, protocol::stat_request& req) {
  if (!admit(self, req.id, req.path))
    return;
  auto id = req.id;
  auto serial = self->state.in_flight[id].serial;
  // A large file is hashed on a bulk worker, never in front of the short
  // jobs of an ordinary one.
  auto path = req.path;
  self->request(self->state.pool.pick(), caf::infinite, atom::stat_v,
                std::move(req.path), node::small_hash_limit)
    .then(
      [self, id, serial, path](protocol::entry& x) {
        if (!current(self, id, serial))
          return; // cancelled
        if (x.type == protocol::entry_type::file && !x.sha256 && !x.error)
          return stat_bulk(self, id, serial, path, x.size);
        self->state.in_flight.erase(id);
        send_reply(self, id, protocol::stat_reply{id, std::move(x)});
      },
      [self, id, serial](caf::error& err) {
        if (current(self, id, serial))
          send_failed(self, id, to_failure(err));
      });
}

void on_du(self_ptr self, protocol::du_request& req) {
  if (!admit(self, req.id, req.path))
    return;
  auto id = req.id;
  auto serial = self->state.in_flight[id].serial;
  self->request(self->state.pool.pick_bulk(), caf::infinite, atom::du_v,
                std::move(req.path))
    .then(
      [self, id, serial](protocol::du_reply& x) {
        if (!current(self, id, serial))
          return; // cancelled
        self->state.in_flight.erase(id);
        x.id = id;
        send_reply(self, id, x);
      },
      [self, id, serial](caf::error& err) {
        if (current(self, id, serial))
          send_failed(self, id, to_failure(err));
      });
}

void on_remove(self_ptr self, protocol::remove_request& req) {
  auto& st = self->state;
  auto shown = protocol::escape_name(req.path);
  if (!st.settings.allow_delete) {
    // Checked before the path: a refusal says nothing about the tree.
    spdlog::warn("refused to delete {} (request {}): not permitted by node "
                 "policy (start with --allow-delete to allow it)",
                 shown, req.id);
    if (st.in_flight.count(req.id) != 0)
      return protocol_violation(self, "request id " + std::to_string(req.id)
                                        + " is already in use");
    send_reply(self, req.id,
               protocol::request_failed{req.id, wire_code::not_permitted,
                                        "not permitted by node policy"});
    return;
  }
  if (!admit(self, req.id, req.path))
    return;
  auto id = req.id;
  auto serial = st.in_flight[id].serial;
  spdlog::info("deleting {}{} (request {})", shown,
               req.recursive ? " recursively" : "", id);
  self->request(self->state.pool.pick_bulk(), caf::infinite, atom::remove_v,
                std::move(req.path), req.recursive)
    .then(
      [self, id, serial, shown](uint64_t n) {
        spdlog::info("deleted {}: {} entries", shown, n);
        if (!current(self, id, serial))
          return;
        self->state.in_flight.erase(id);
        send_reply(self, id, protocol::remove_reply{id, n});
      },
      [self, id, serial, shown](caf::error& err) {
        auto why = to_failure(err);
        spdlog::warn("delete of {} failed: {}", shown, why.message);
        if (current(self, id, serial))
          send_failed(self, id, why);
      });
}

/// Refuses request `id` when the node's policy does not allow `what`.
bool permitted(self_ptr self, uint32_t id, bool allowed, const char* what,
               const char* option, const std::string& path) {
  auto& st = self->state;
  if (allowed)
    return true;
  // Checked before the path: a refusal says nothing about the tree.
  spdlog::warn("refused to {} {} (request {}): not permitted by node policy "
               "(start with --{} to allow it)",
               what, protocol::escape_name(path), id, option);
  if (st.in_flight.count(id) != 0) {
    protocol_violation(self, "request id " + std::to_string(id)
                               + " is already in use");
    return false;
  }
  send_reply(self, id,
             protocol::request_failed{id, wire_code::not_permitted,
                                      "not permitted by node policy"});
  return false;
}

void on_download(self_ptr self, protocol::download_request& req) {
  auto& st = self->state;
  if (!permitted(self, req.id, st.settings.allow_download, "send",
                 "allow-download", req.path)
      || !admit(self, req.id, req.path))
    return;
  bool tree = (req.flags & protocol::transfer_tree) != 0;
  bool meta = (req.flags & protocol::transfer_meta) != 0;
  if ((req.flags & ~(protocol::transfer_tree | protocol::transfer_meta)) != 0
      || (tree && (req.offset != 0 || meta)))
    return send_failed(self, req.id,
                       {wire_code::bad_request,
                        tree ? "a tree is sent from offset 0 only, without "
                               "file_meta"
                             : "unknown transfer flags"});
  spdlog::info("sending {}{} from offset {} (request {})",
               tree ? "tree " : "", protocol::escape_name(req.path),
               req.offset, req.id);
  auto conn = caf::actor_cast<client_connection_actor>(self);
  auto hdl = self->spawn(file_sender, conn, st.pool.pick(), req.id,
                         std::move(req.path), req.offset, tree,
                         data_room(self, st.peer_max_frame), meta);
  st.senders.emplace(req.id, hdl);
}

void on_upload(self_ptr self, protocol::upload_request& req) {
  auto& st = self->state;
  if (!permitted(self, req.id, st.settings.allow_upload, "receive",
                 "allow-upload", req.path)
      || !admit(self, req.id, req.path))
    return;
  namespace p = protocol;
  bool tree = (req.flags & p::transfer_tree) != 0;
  bool meta = (req.flags & p::transfer_meta) != 0;
  bool resume = (req.flags & p::transfer_resume) != 0;
  if ((req.flags & ~(p::transfer_tree | p::transfer_meta | p::transfer_resume))
        != 0
      || (tree && (meta || resume)) || (resume && !meta))
    return send_failed(self, req.id,
                       {wire_code::bad_request, "unknown transfer flags"});
  if (tree)
    spdlog::info("receiving tree {} (request {})",
                 protocol::escape_name(req.path), req.id);
  else
    spdlog::info("receiving {} ({} bytes, request {})",
                 protocol::escape_name(req.path), req.size, req.id);
  auto conn = caf::actor_cast<client_connection_actor>(self);
  // A tree's size is 0 and not checked (its length is known at the end).
  auto declared = tree ? std::optional<uint64_t>{} : req.size;
  auto hdl = self->spawn(file_receiver, conn, st.pool.pick(), req.id,
                         std::move(req.path), tree, declared, meta, resume);
  st.receivers.emplace(req.id, hdl);
}

void on_cancel(self_ptr self, uint32_t id) {
  auto& st = self->state;
  if (st.in_flight.count(id) == 0)
    return; // already finished
  if (st.senders.count(id) != 0)
    spdlog::info("download {} cancelled by the server", id);
  if (auto i = st.receivers.find(id); i != st.receivers.end()) {
    spdlog::info("upload {} cancelled by the server", id);
    // Cancelled, not broken: it drops its partial file, then quits.
    self->send(i->second, atom::cancel_v);
    st.receivers.erase(i);
  }
  stop_request(self, id);
  send_failed(self, id, {wire_code::cancelled, "cancelled by the server"});
}

/// The server consumed a chunk of listing or download `id`.
void on_ack(self_ptr self, uint32_t id) {
  auto& st = self->state;
  auto i = st.in_flight.find(id);
  if (i == st.in_flight.end())
    return; // raced the final frame
  if (i->second.unacked_out == 0)
    return protocol_violation(self, "chunk_ack for request "
                                      + std::to_string(id)
                                      + " with no chunk unacknowledged");
  --i->second.unacked_out;
  if (auto j = st.listers.find(id); j != st.listers.end())
    self->send(j->second, atom::ack_v);
  else if (auto f = st.finders.find(id); f != st.finders.end())
    self->send(f->second, atom::ack_v);
  else if (auto k = st.senders.find(id); k != st.senders.end())
    self->send(k->second, atom::ack_v);
}

/// A chunk of upload `id`: at most data_window of them unacknowledged.
void on_upload_data(self_ptr self, protocol::data_chunk& x) {
  auto& st = self->state;
  auto i = st.receivers.find(x.id);
  if (i == st.receivers.end())
    return;
  if (x.data.size() > data_chunk_limit(self))
    return protocol_violation(self, "data_chunk of "
                                      + std::to_string(x.data.size())
                                      + " bytes exceeds "
                                      + std::to_string(data_chunk_limit(self)));
  auto& f = st.in_flight[x.id];
  if (f.unacked_in >= protocol::data_window)
    return protocol_violation(self, "more than "
                                      + std::to_string(protocol::data_window)
                                      + " data chunks unacknowledged for "
                                        "upload "
                                      + std::to_string(x.id));
  ++f.unacked_in;
  self->send(i->second, atom::data_v, x.offset, std::move(x.data));
}

bool on_frame(self_ptr self, protocol::message& msg) {
  auto& st = self->state;
  st.last_rx = self->clock().now();
  if (st.stage == state::phase::awaiting_welcome) {
    if (auto x = std::get_if<protocol::welcome>(&msg)) {
      if (x->max_frame < client_min_peer_frame) {
        protocol_violation(self, "welcome.max_frame of "
                                   + std::to_string(x->max_frame)
                                   + " bytes is below "
                                   + std::to_string(client_min_peer_frame));
        return false;
      }
      // Every frame this node sends fits the server's limit.
      st.peer_max_frame = std::min(x->max_frame, protocol::absolute_max_frame);
      st.server_features = x->features.value_or(0);
      st.stage = state::phase::serving;
      if (x->heartbeat_ms > 0) {
        // Restart the liveness checks at the server's pace.
        st.heartbeat_interval = std::chrono::milliseconds{x->heartbeat_ms};
        ++st.tick_generation;
        schedule_tick(self);
      }
      spdlog::info("connected to {}:{} as '{}' (session {}, server time {})",
                   st.settings.server_host, st.settings.server_port,
                   st.settings.name, x->session_id,
                   shell::format_rfc3339(x->server_time_ns));
      self->send(st.agent, atom::welcomed_v);
      return true;
    }
    // Text from the server is shown escaped, like node text on the server.
    if (auto x = std::get_if<protocol::reject>(&msg)) {
      auto why = protocol::escape_name(x->reason);
      spdlog::error("the server rejected this node: {} ({})", why,
                    to_string(x->code));
      close(self, make_error(x->code, why));
      return false;
    }
    if (auto x = std::get_if<protocol::goodbye>(&msg)) {
      auto why = protocol::escape_name(x->reason);
      spdlog::info("the server said goodbye before the welcome: {}", why);
      close(self, make_error(wire_code::io_error, why));
      return false;
    }
    protocol_violation(self, std::string{"expected welcome, got "}
                               + protocol::name_of(msg));
    return false;
  }
  if (st.stage == state::phase::closing)
    return false;
  if (auto x = std::get_if<protocol::heartbeat>(&msg)) {
    spdlog::debug("heartbeat {}: server time {}", x->seq,
                  shell::format_rfc3339(x->server_time_ns));
    send_frame(self, st.hdl, st.chan, protocol::heartbeat_ack{x->seq});
  } else if (auto x = std::get_if<protocol::list_request>(&msg)) {
    on_list(self, *x);
  } else if (auto x = std::get_if<protocol::stat_request>(&msg)) {
    on_stat(self, *x);
  } else if (auto x = std::get_if<protocol::find_request>(&msg)) {
    on_find(self, *x);
  } else if (auto x = std::get_if<protocol::chunk_ack>(&msg)) {
    on_ack(self, x->id);
  } else if (auto x = std::get_if<protocol::cancel>(&msg)) {
    on_cancel(self, x->id);
  } else if (auto x = std::get_if<protocol::du_request>(&msg)) {
    on_du(self, *x);
  } else if (auto x = std::get_if<protocol::remove_request>(&msg)) {
    on_remove(self, *x);
  } else if (auto x = std::get_if<protocol::download_request>(&msg)) {
    on_download(self, *x);
  } else if (auto x = std::get_if<protocol::upload_request>(&msg)) {
    on_upload(self, *x);
  } else if (auto x = std::get_if<protocol::data_chunk>(&msg)) {
    on_upload_data(self, *x);
  } else if (auto x = std::get_if<protocol::upload_end>(&msg)) {
    if (auto i = st.receivers.find(x->id); i != st.receivers.end())
      self->send(i->second, atom::commit_v, x->size, x->sha256);
  } else if (auto x = std::get_if<protocol::file_meta>(&msg)) {
    if (auto i = st.receivers.find(x->id); i != st.receivers.end())
      self->send(i->second, atom::meta_v, x->mode, x->mtime_ns);
  } else if (auto x = std::get_if<protocol::notice>(&msg)) {
    auto text = protocol::escape_name(x->text);
    spdlog::info("notice from server: {}", text);
    print_for_operator("notice from server: " + text + "\n");
  } else if (auto x = std::get_if<protocol::echo_reply>(&msg)) {
    print_for_operator(protocol::escape_name(x->text) + "\n");
  } else if (auto x = std::get_if<protocol::goodbye>(&msg)) {
    auto why = protocol::escape_name(x->reason);
    spdlog::info("the server closed the session: {} ({})", why,
                 to_string(x->code));
    // Only the operator (kick) and a stopping server dismiss the node; a
    // timeout (the node was paused past the heartbeat misses) or any other
    // reason ends this connection only, and the agent reconnects.
    if (ends_node(x->code))
      close(self, caf::exit_reason::normal);
    else
      close(self, make_error(x->code, why));
  } else {
    protocol_violation(self, std::string{"unexpected "}
                               + protocol::name_of(msg) + " from the server");
  }
  return st.stage != state::phase::closing;
}

} // namespace

caf::behavior client_connection(client_connection_broker self,
                                caf::io::connection_handle hdl,
                                client_settings settings, worker_pool pool,
                                node_agent_actor agent,
                                std::shared_ptr<tls::context> tls) {
  auto& st = self->state;
  st.hdl = hdl;
  if (tls) {
    auto session = tls::session::make(std::move(tls));
    if (!session) {
      spdlog::error("cannot start TLS: {}", session.error().message);
      self->quit(make_error(wire_code::tls_failure, session.error().message));
      return {};
    }
    st.chan = channel{std::move(*session)};
  }
  st.settings = std::move(settings);
  st.pool = std::move(pool);
  st.agent = std::move(agent);
  st.decoder = protocol::frame_decoder{st.settings.max_frame};
  st.heartbeat_interval = st.settings.heartbeat_interval;
  st.last_rx = self->clock().now();
  self->configure_read(hdl, caf::io::receive_policy::at_most(64 * 1024));
  // data_transferred_msg says when the socket took bytes (back-pressure).
  self->ack_writes(hdl, true);
  namespace cap = protocol::capability;
  uint32_t caps
    = cap::list | cap::stat | cap::hash | cap::file_meta | cap::features
      | cap::hash_progress | cap::find;
  if (st.settings.allow_download)
    caps |= cap::download;
  if (st.settings.allow_upload)
    caps |= cap::upload;
  if (st.settings.allow_delete)
    caps |= cap::remove;
  // Large chunks only where our own frame limit takes them.
  if (st.settings.max_frame >= protocol::large_chunk_frame)
    caps |= cap::large_chunks;
  // With TLS the hello waits inside the session until the server is
  // verified; a server that fails verification never sees it.
  send_frame(self, hdl, st.chan,
             protocol::hello{protocol::version, st.settings.name,
                             st.settings.hostname, st.settings.root, caps,
                             st.settings.token});
  schedule_tick(self);
  self->set_exit_handler([self](const caf::exit_msg& msg) {
    close(self, msg.reason);
  });
  return {
    [self](const caf::io::new_data_msg& msg) {
      auto& st = self->state;
      auto err = consume_bytes(st.chan, st.decoder, msg.buf,
                               [self](protocol::message& x) {
                                 return on_frame(self, x);
                               });
      flush_channel(self, st.hdl, st.chan);
      drain_outbox(self);
      if (!err || st.stage == state::phase::closing)
        return;
      if (auto session = st.chan.session(); session && session->failed()) {
        spdlog::error("TLS with the server failed: {}", err->message);
        close(self, make_error(wire_code::tls_failure, err->message));
        return;
      }
      protocol_violation(self, err->message);
    },
    [self](const caf::io::connection_closed_msg&) {
      auto& st = self->state;
      if (st.stage == state::phase::closing)
        return;
      if (!st.chan.established()) {
        auto why = "the server closed the connection during the TLS "
                   "handshake (does it run with --tls=false, or want a "
                   "client certificate?)";
        spdlog::warn("{}", why);
        close(self, make_error(wire_code::io_error, why));
        return;
      }
      spdlog::warn("lost the connection to the server");
      close(self, make_error(wire_code::io_error, "connection lost"));
    },
    [self](atom::tick, uint64_t generation) {
      auto& st = self->state;
      if (st.stage == state::phase::closing
          || generation != st.tick_generation)
        return;
      auto silence = self->clock().now() - st.last_rx;
      if (silence > st.heartbeat_interval * st.settings.heartbeat_misses) {
        spdlog::warn("no heartbeat from the server for {} intervals",
                     st.settings.heartbeat_misses);
        close(self, make_error(wire_code::timeout, "server silent"));
        return;
      }
      schedule_tick(self);
      report_stat_hashes(self);
      drain_outbox(self);
    },
    [self](const caf::io::data_transferred_msg&) {
      // The socket took bytes: queued replies may fit now.
      drain_outbox(self);
    },
    // -- from listers ---------------------------------------------------------
    [self](atom::chunk, uint32_t id, std::vector<protocol::entry>& xs) {
      auto& st = self->state;
      if (st.stage == state::phase::serving && from_current(self, st.listers, id))
        send_reply(self, id, protocol::entries_chunk{id, std::move(xs)});
    },
    [self](atom::chunk, uint32_t id, std::vector<protocol::find_match>& xs) {
      auto& st = self->state;
      if (st.stage == state::phase::serving
          && from_current(self, st.finders, id))
        send_reply(self, id, protocol::find_chunk{id, std::move(xs)});
    },
    [self](atom::done, uint32_t id, uint64_t matched, uint64_t visited) {
      auto& st = self->state;
      if (st.stage != state::phase::serving
          || !from_current(self, st.finders, id))
        return;
      st.finders.erase(id);
      st.in_flight.erase(id);
      send_reply(self, id, protocol::find_end{id, matched, visited});
    },
    [self](atom::progress, uint32_t id, uint64_t hashed) {
      auto& st = self->state;
      if (st.stage == state::phase::serving
          && from_current(self, st.finders, id))
        return send_reply(self, id, protocol::find_progress{id, hashed});
      // An older server knows no list_progress frame: it gets none.
      if (st.stage == state::phase::serving
          && from_current(self, st.listers, id)
          && (st.server_features & protocol::server_feature::list_progress))
        send_reply(self, id, protocol::list_progress{id, hashed});
    },
    [self](atom::progress, uint32_t id, std::string& name, uint64_t size,
           uint64_t hashed) {
      auto& st = self->state;
      if (st.stage == state::phase::serving
          && from_current(self, st.listers, id) && accepts_hash_progress(self))
        send_reply(self, id,
                   protocol::hash_progress{id, std::move(name), size, hashed});
    },
    [self](atom::done, uint32_t id, uint64_t total, bool sorted) {
      auto& st = self->state;
      if (st.stage != state::phase::serving || !from_current(self, st.listers, id))
        return;
      st.listers.erase(id);
      st.in_flight.erase(id);
      send_reply(self, id, protocol::list_end{id, total, sorted});
    },
    [self](atom::failed, uint32_t id, const caf::error& err) {
      auto& st = self->state;
      if (st.stage != state::phase::serving)
        return;
      if (from_current(self, st.receivers, id))
        spdlog::warn("upload {} failed: {}", id, to_failure(err).message);
      else if (!from_current(self, st.listers, id)
               && !from_current(self, st.finders, id)
               && !from_current(self, st.senders, id))
        return; // cancelled, or an earlier request under this id
      st.listers.erase(id);
      st.finders.erase(id);
      st.senders.erase(id);
      st.receivers.erase(id);
      send_failed(self, id, to_failure(err));
    },
    // -- from file senders and receivers --------------------------------------
    [self](atom::data, uint32_t id, uint64_t offset,
           std::string& bytes) -> caf::response_promise {
      // Answered once the chunk is in the socket's write buffer: the sender
      // reads the next one only then.
      auto& st = self->state;
      // Checked first: the promise takes the sender out of the message.
      auto current = st.stage == state::phase::serving
                     && from_current(self, st.senders, id);
      auto rp = self->make_response_promise();
      if (!current)
        rp.deliver(make_error(wire_code::cancelled, "request ended"));
      else
        send_reply(self, id, protocol::data_chunk{id, offset, std::move(bytes)},
                   rp);
      return rp;
    },
    [self](atom::done, uint32_t id, uint64_t size,
           const protocol::sha256_digest& sha256) {
      auto& st = self->state;
      if (st.stage != state::phase::serving || !from_current(self, st.senders, id))
        return;
      st.senders.erase(id);
      st.in_flight.erase(id);
      spdlog::info("sent request {}: {} bytes, sha256 {}", id, size,
                   protocol::to_hex(sha256));
      send_reply(self, id, protocol::download_end{id, size, sha256});
    },
    [self](atom::ack, uint32_t id) {
      auto& st = self->state;
      if (st.stage == state::phase::serving && from_current(self, st.receivers, id))
        send_reply(self, id, protocol::chunk_ack{id});
    },
    [self](atom::commit, uint32_t id, uint64_t size) {
      auto& st = self->state;
      if (st.stage != state::phase::serving || !from_current(self, st.receivers, id))
        return;
      st.receivers.erase(id);
      st.in_flight.erase(id);
      spdlog::info("received request {}: {} bytes in place", id, size);
      send_reply(self, id, protocol::upload_reply{id, size});
    },
    [self](atom::meta, uint32_t id, uint64_t size, uint32_t mode,
           int64_t mtime_ns) {
      auto& st = self->state;
      if (st.stage == state::phase::serving && from_current(self, st.senders, id))
        send_reply(self, id, protocol::file_meta{id, size, mode, mtime_ns});
    },
    // -- from the agent -------------------------------------------------------
    [self](atom::goodbye, const caf::error& reason) {
      auto& st = self->state;
      auto why = to_failure(reason);
      send_frame(self, st.hdl, st.chan, protocol::goodbye{why.code, why.message});
      close(self, caf::exit_reason::normal);
    },
    [self](atom::echo, std::string& line) {
      auto& st = self->state;
      if (st.stage != state::phase::serving) {
        spdlog::warn("not connected to the server: line not sent");
        return;
      }
      // The reply is as long as the line: both frames must fit the
      // server's limit and ours, else the server or we would drop the
      // connection.
      auto most = protocol::max_text_size(
        std::min(st.peer_max_frame, st.settings.max_frame));
      if (line.size() > most) {
        spdlog::warn("line not sent: {} bytes is too long (at most {})",
                     line.size(), most);
        return;
      }
      send_frame(self, st.hdl, st.chan, protocol::echo{std::move(line)});
    },
  };
}

} // namespace dirscope
