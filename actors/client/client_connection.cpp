#include "actors/client/client_connection.hpp"

#include <algorithm>

#include <caf/io/system_messages.hpp>
#include <caf/send.hpp>
#include <spdlog/spdlog.h>

#include "actors/client/lister.hpp"
#include "actors/client/transfer.hpp"
#include "actors/client/node_output.hpp"
#include "actors/error.hpp"
#include "actors/wire_io.hpp"
#include "protocol/names.hpp"
#include "protocol/paths.hpp"
#include "shell/render.hpp"

namespace dirscope {

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
  // Their temporary files go with them.
  for (auto& [id, hdl] : st.senders)
    self->send_exit(hdl, caf::exit_reason::user_shutdown);
  for (auto& [id, hdl] : st.receivers)
    self->send_exit(hdl, caf::exit_reason::user_shutdown);
  st.senders.clear();
  st.receivers.clear();
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

void send_failed(self_ptr self, uint32_t id, const failure& why) {
  self->state.in_flight.erase(id);
  send_frame(self, self->state.hdl, self->state.chan,
             protocol::request_failed{id, why.code, why.message});
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
  st.in_flight.emplace(id, true);
  return true;
}

void on_list(self_ptr self, protocol::list_request& req) {
  if (!admit(self, req.id, req.path))
    return;
  spdlog::debug("list {} (request {})", protocol::escape_name(req.path),
                req.id);
  auto& st = self->state;
  auto conn = caf::actor_cast<client_connection_actor>(self);
  auto hdl = self->spawn(lister, conn, st.pool, req.id, std::move(req.path),
                         (req.flags & protocol::list_flags::with_hashes) != 0);
  st.listers.emplace(req.id, hdl);
}

void on_stat(self_ptr self, protocol::stat_request& req) {
  if (!admit(self, req.id, req.path))
    return;
  auto id = req.id;
  self->request(self->state.pool.pick(), caf::infinite, atom::stat_v,
                std::move(req.path))
    .then(
      [self, id](protocol::entry& x) {
        auto& st = self->state;
        if (st.stage != state::phase::serving || st.in_flight.erase(id) == 0)
          return; // cancelled
        send_frame(self, st.hdl, st.chan, protocol::stat_reply{id, std::move(x)});
      },
      [self, id](caf::error& err) {
        auto& st = self->state;
        if (st.stage != state::phase::serving || st.in_flight.count(id) == 0)
          return;
        send_failed(self, id, to_failure(err));
      });
}

void on_du(self_ptr self, protocol::du_request& req) {
  if (!admit(self, req.id, req.path))
    return;
  auto id = req.id;
  self->request(self->state.pool.pick(), caf::infinite, atom::du_v,
                std::move(req.path))
    .then(
      [self, id](protocol::du_reply& x) {
        auto& st = self->state;
        if (st.stage != state::phase::serving || st.in_flight.erase(id) == 0)
          return; // cancelled
        x.id = id;
        send_frame(self, st.hdl, st.chan, x);
      },
      [self, id](caf::error& err) {
        auto& st = self->state;
        if (st.stage != state::phase::serving || st.in_flight.count(id) == 0)
          return;
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
    send_frame(self, st.hdl, st.chan,
               protocol::request_failed{req.id, wire_code::not_permitted,
                                        "not permitted by node policy"});
    return;
  }
  if (!admit(self, req.id, req.path))
    return;
  auto id = req.id;
  spdlog::info("deleting {}{} (request {})", shown,
               req.recursive ? " recursively" : "", id);
  self->request(self->state.pool.pick(), caf::infinite, atom::remove_v,
                std::move(req.path), req.recursive)
    .then(
      [self, id, shown](uint64_t n) {
        auto& st = self->state;
        spdlog::info("deleted {}: {} entries", shown, n);
        if (st.stage != state::phase::serving || st.in_flight.erase(id) == 0)
          return;
        send_frame(self, st.hdl, st.chan, protocol::remove_reply{id, n});
      },
      [self, id, shown](caf::error& err) {
        auto& st = self->state;
        auto why = to_failure(err);
        spdlog::warn("delete of {} failed: {}", shown, why.message);
        if (st.stage != state::phase::serving || st.in_flight.count(id) == 0)
          return;
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
  send_frame(self, st.hdl, st.chan,
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
  if ((req.flags & ~protocol::transfer_tree) != 0 || (tree && req.offset != 0))
    return send_failed(self, req.id,
                       {wire_code::bad_request,
                        tree ? "a tree is sent from offset 0 only"
                             : "unknown transfer flags"});
  spdlog::info("sending {}{} from offset {} (request {})",
               tree ? "tree " : "", protocol::escape_name(req.path),
               req.offset, req.id);
  auto conn = caf::actor_cast<client_connection_actor>(self);
  auto hdl = self->spawn(file_sender, conn, st.pool.pick(), req.id,
                         std::move(req.path), req.offset, tree);
  st.senders.emplace(req.id, hdl);
}

void on_upload(self_ptr self, protocol::upload_request& req) {
  auto& st = self->state;
  if (!permitted(self, req.id, st.settings.allow_upload, "receive",
                 "allow-upload", req.path)
      || !admit(self, req.id, req.path))
    return;
  bool tree = (req.flags & protocol::transfer_tree) != 0;
  if ((req.flags & ~protocol::transfer_tree) != 0)
    return send_failed(self, req.id,
                       {wire_code::bad_request, "unknown transfer flags"});
  if (tree)
    spdlog::info("receiving tree {} (request {})",
                 protocol::escape_name(req.path), req.id);
  else
    spdlog::info("receiving {} ({} bytes, request {})",
                 protocol::escape_name(req.path), req.size, req.id);
  auto conn = caf::actor_cast<client_connection_actor>(self);
  auto hdl = self->spawn(file_receiver, conn, st.pool.pick(), req.id,
                         std::move(req.path), tree);
  st.receivers.emplace(req.id, hdl);
}

void on_cancel(self_ptr self, uint32_t id) {
  auto& st = self->state;
  if (st.in_flight.count(id) == 0)
    return; // already finished
  if (auto i = st.listers.find(id); i != st.listers.end()) {
    self->send_exit(i->second, caf::exit_reason::user_shutdown);
    st.listers.erase(i);
  }
  if (auto i = st.senders.find(id); i != st.senders.end()) {
    spdlog::info("download {} cancelled by the server", id);
    self->send_exit(i->second, caf::exit_reason::user_shutdown);
    st.senders.erase(i);
  }
  if (auto i = st.receivers.find(id); i != st.receivers.end()) {
    spdlog::info("upload {} cancelled by the server", id);
    self->send_exit(i->second, caf::exit_reason::user_shutdown);
    st.receivers.erase(i);
  }
  send_failed(self, id, {wire_code::cancelled, "cancelled by the server"});
}

bool on_frame(self_ptr self, protocol::message& msg) {
  auto& st = self->state;
  st.last_rx = self->clock().now();
  if (st.stage == state::phase::awaiting_welcome) {
    if (auto x = std::get_if<protocol::welcome>(&msg)) {
      st.stage = state::phase::serving;
      st.server_max_frame = std::clamp(x->max_frame, protocol::min_frame_limit,
                                       protocol::absolute_max_frame);
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
  } else if (auto x = std::get_if<protocol::chunk_ack>(&msg)) {
    if (auto i = st.listers.find(x->id); i != st.listers.end())
      self->send(i->second, atom::ack_v);
    else if (auto j = st.senders.find(x->id); j != st.senders.end())
      self->send(j->second, atom::ack_v);
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
    if (auto i = st.receivers.find(x->id); i != st.receivers.end())
      self->send(i->second, atom::data_v, x->offset, std::move(x->data));
  } else if (auto x = std::get_if<protocol::upload_end>(&msg)) {
    if (auto i = st.receivers.find(x->id); i != st.receivers.end())
      self->send(i->second, atom::commit_v, x->size, x->sha256);
  } else if (auto x = std::get_if<protocol::notice>(&msg)) {
    auto text = protocol::escape_name(x->text);
    spdlog::info("notice from server: {}", text);
    print_for_operator("notice from server: " + text + "\n");
  } else if (auto x = std::get_if<protocol::echo_reply>(&msg)) {
    print_for_operator(protocol::escape_name(x->text) + "\n");
  } else if (auto x = std::get_if<protocol::goodbye>(&msg)) {
    spdlog::info("the server closed the session: {} ({})",
                 protocol::escape_name(x->reason), to_string(x->code));
    close(self, caf::exit_reason::normal);
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
  namespace cap = protocol::capability;
  uint32_t caps = cap::list | cap::stat | cap::hash;
  if (st.settings.allow_download)
    caps |= cap::download;
  if (st.settings.allow_upload)
    caps |= cap::upload;
  if (st.settings.allow_delete)
    caps |= cap::remove;
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
    },
    // -- from listers ---------------------------------------------------------
    [self](atom::chunk, uint32_t id, std::vector<protocol::entry>& xs) {
      auto& st = self->state;
      if (st.stage == state::phase::serving && st.listers.count(id) != 0)
        send_frame(self, st.hdl, st.chan, protocol::entries_chunk{id, std::move(xs)});
    },
    [self](atom::done, uint32_t id, uint64_t total, bool sorted) {
      auto& st = self->state;
      if (st.listers.erase(id) == 0 || st.stage != state::phase::serving)
        return;
      st.in_flight.erase(id);
      send_frame(self, st.hdl, st.chan, protocol::list_end{id, total, sorted});
    },
    [self](atom::failed, uint32_t id, const caf::error& err) {
      auto& st = self->state;
      auto known = st.listers.erase(id) + st.senders.erase(id);
      if (st.receivers.erase(id) != 0) {
        ++known;
        spdlog::warn("upload {} failed: {}", id, to_failure(err).message);
      }
      if (known == 0 || st.stage != state::phase::serving)
        return;
      send_failed(self, id, to_failure(err));
    },
    // -- from file senders and receivers --------------------------------------
    [self](atom::data, uint32_t id, uint64_t offset, std::string& bytes) {
      auto& st = self->state;
      if (st.stage == state::phase::serving && st.senders.count(id) != 0)
        send_frame(self, st.hdl, st.chan,
                   protocol::data_chunk{id, offset, std::move(bytes)});
    },
    [self](atom::done, uint32_t id, uint64_t size,
           const protocol::sha256_digest& sha256) {
      auto& st = self->state;
      if (st.senders.erase(id) == 0 || st.stage != state::phase::serving)
        return;
      st.in_flight.erase(id);
      spdlog::info("sent request {}: {} bytes, sha256 {}", id, size,
                   protocol::to_hex(sha256));
      send_frame(self, st.hdl, st.chan,
                 protocol::download_end{id, size, sha256});
    },
    [self](atom::ack, uint32_t id) {
      auto& st = self->state;
      if (st.stage == state::phase::serving && st.receivers.count(id) != 0)
        send_frame(self, st.hdl, st.chan, protocol::chunk_ack{id});
    },
    [self](atom::commit, uint32_t id, uint64_t size) {
      auto& st = self->state;
      if (st.receivers.erase(id) == 0 || st.stage != state::phase::serving)
        return;
      st.in_flight.erase(id);
      spdlog::info("received request {}: {} bytes in place", id, size);
      send_frame(self, st.hdl, st.chan, protocol::upload_reply{id, size});
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
        std::min(st.server_max_frame, st.settings.max_frame));
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
