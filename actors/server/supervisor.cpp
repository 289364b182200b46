#include "actors/server/supervisor.hpp"

#include <algorithm>
#include <optional>

#include <caf/event_based_actor.hpp>
#include <caf/exit_reason.hpp>
#include <caf/send.hpp>
#include <spdlog/spdlog.h>

#include "actors/error.hpp"
#include "actors/wire_io.hpp"
#include "protocol/codec.hpp"
#include "protocol/names.hpp"
#include "protocol/node_name.hpp"
#include "shell/nodes_view.hpp"

namespace dirscope {

supervisor_state::node_record*
supervisor_state::find(const std::string& name_or_id) {
  if (auto i = names.find(name_or_id); i != names.end())
    return &nodes.at(i->second);
  auto is_digit = [](char c) { return c >= '0' && c <= '9'; };
  if (!name_or_id.empty()
      && std::all_of(name_or_id.begin(), name_or_id.end(), is_digit)
      && name_or_id.size() < 20) {
    auto i = nodes.find(std::stoull(name_or_id));
    if (i != nodes.end())
      return &i->second;
  }
  return nullptr;
}

node_info supervisor_state::node_record::row() const {
  auto result = info;
  if (liveness)
    result.last_heartbeat_ns
      = liveness->last_ack_ns.load(std::memory_order_relaxed);
  return result;
}

namespace {

using self_ptr = supervisor_actor::stateful_pointer<supervisor_state>;

/// Arms the heartbeat timer for the next round, if any node is due.
void schedule_round(self_ptr self) {
  auto& st = self->state;
  auto next = st.heartbeats.next_due();
  if (st.round_pending || !next)
    return;
  st.round_pending = true;
  auto now = self->clock().now();
  self->delayed_send(self, *next > now ? *next - now : caf::timespan{0},
                     atom::heartbeat_v);
}

/// Ticks every connection whose heartbeat is due.
void run_round(self_ptr self) {
  auto& st = self->state;
  st.round_pending = false;
  st.heartbeats.run(self->clock().now(), [self](node_connection_actor& conn) {
    self->send(conn, atom::tick_v);
  });
  schedule_round(self);
}

void release_waiters(self_ptr self) {
  auto& st = self->state;
  for (auto i = st.waiters.begin(); i != st.waiters.end();) {
    if (st.nodes.size() >= i->second.count) {
      i->second.promise.deliver(uint64_t{st.nodes.size()});
      i = st.waiters.erase(i);
    } else {
      ++i;
    }
  }
}

/// One page of `nodes`: the counts (first page only), then up to
/// `q.limit` matching nodes after `q.after`, in name order.
node_page nodes_page(self_ptr self, const node_query& q) {
  auto& st = self->state;
  node_page page;
  if (q.after.empty()) {
    auto now = wall_clock_ns();
    auto interval = std::chrono::duration_cast<std::chrono::nanoseconds>(
                      st.settings.heartbeat_interval)
                      .count();
    auto& c = page.counts;
    c.total = st.nodes.size();
    c.joining = static_cast<uint64_t>(
      std::count_if(st.connections.begin(), st.connections.end(),
                    [](auto& kvp) { return kvp.second.id == 0; }));
    for (auto& [id, rec] : st.nodes) {
      if (!shell::node_matches(q, rec.info))
        continue;
      ++c.matching;
      if (shell::node_up(rec.row(), now, interval))
        ++c.up;
      else
        ++c.late;
    }
  }
  if (q.limit == 0)
    return page;
  auto i = q.after.empty() ? st.names.begin() : st.names.upper_bound(q.after);
  for (; i != st.names.end(); ++i) {
    auto& rec = st.nodes.at(i->second);
    if (!shell::node_matches(q, rec.info))
      continue;
    if (page.rows.size() == q.limit) {
      page.more = true;
      break;
    }
    page.rows.push_back(rec.row());
  }
  return page;
}

/// Connections accepted that have no welcome yet.
size_t handshakes(const supervisor_state& st) {
  return st.connections.size() - st.nodes.size();
}

/// Admission control: stops the acceptor at max_handshakes connections
/// without a welcome and lets it go on once half of them are through;
/// stops it for good at shutdown.
void update_admission(self_ptr self) {
  auto& st = self->state;
  if (!st.acceptor)
    return;
  if (st.shutting_down) {
    // For good: nodes that come back while the server says goodbye to
    // thousands would only add TLS handshakes to the one I/O thread (at
    // 10,000 nodes quit then took 55 s and lost leaves).
    if (!st.admission_closed) {
      st.admission_closed = true;
      caf::anon_send(st.acceptor, atom::open_v, false);
    }
    return;
  }
  auto n = handshakes(st);
  auto most = std::max<size_t>(1, st.settings.max_handshakes);
  if (!st.admission_closed && n >= most) {
    st.admission_closed = true;
    spdlog::debug("{} handshakes in progress: not accepting for now", n);
    caf::anon_send(st.acceptor, atom::open_v, false);
  } else if (st.admission_closed && n <= most / 2) {
    st.admission_closed = false;
    spdlog::debug("{} handshakes in progress: accepting again", n);
    caf::anon_send(st.acceptor, atom::open_v, true);
  }
}

void schedule_sweep(self_ptr self, caf::timespan delay) {
  auto& st = self->state;
  if (st.sweep_pending)
    return;
  st.sweep_pending = true;
  self->delayed_send(self, delay, atom::tick_v);
}

/// Tells every connection past its handshake deadline without a welcome
/// to go (the connection itself decides: its hello may be on the way), and
/// schedules the next sweep for the earliest deadline still to come.
void sweep(self_ptr self) {
  auto& st = self->state;
  st.sweep_pending = false;
  auto now = self->clock().now();
  auto timeout = st.settings.handshake_timeout;
  std::optional<caf::actor_clock::time_point> next;
  for (auto& [addr, rec] : st.connections) {
    if (rec.id != 0)
      continue;
    auto due = rec.accepted + timeout;
    if (due <= now) {
      // The deadline is the connection's own timer, sent here so that no
      // pending timer keeps a closed connection alive.
      if (auto hdl = caf::actor_cast<caf::actor>(addr))
        caf::anon_send(hdl, atom::deadline_v);
    } else if (!next || due < *next) {
      next = due;
    }
  }
  if (next)
    schedule_sweep(self, *next - now);
}

void finish_shutdown(self_ptr self) {
  auto& st = self->state;
  st.shutdown_done = true;
  for (auto& promise : st.shutdown_promises)
    promise.deliver(st.shutdown_count);
  st.shutdown_promises.clear();
}

/// Says goodbye(`code`) to every node; the result arrives once all are gone
/// or the grace period ended. A second request waits like the first.
caf::result<uint64_t> begin_shutdown(self_ptr self, wire_code code) {
  auto& st = self->state;
  if (st.shutdown_done)
    return st.shutdown_count;
  auto promise = self->make_response_promise<uint64_t>();
  st.shutdown_promises.push_back(promise);
  if (st.shutting_down)
    return promise;
  st.shutting_down = true;
  update_admission(self);
  st.shutdown_count = st.nodes.size();
  auto restarting = code == wire_code::restarting;
  spdlog::info("{}: saying goodbye to {} node(s)",
               restarting ? "restarting" : "shutting down", st.nodes.size());
  auto why = make_error(code, restarting ? "server restarting"
                                         : "server shutting down");
  for (auto& [id, rec] : st.nodes)
    self->send(rec.conn, atom::goodbye_v, why);
  for (auto& [addr, rec] : st.connections)
    if (rec.id == 0)
      if (auto hdl = caf::actor_cast<caf::actor>(addr))
        self->send_exit(hdl, caf::exit_reason::user_shutdown);
  if (st.connections.empty())
    finish_shutdown(self);
  else
    self->delayed_send(self, st.settings.shutdown_grace, atom::deadline_v);
  return promise;
}

} // namespace

supervisor_actor::behavior_type
supervisor(supervisor_actor::stateful_pointer<supervisor_state> self,
           server_settings settings) {
  self->state.settings = settings;
  self->state.heartbeats = heartbeat_schedule{settings.heartbeat_interval};
  self->set_down_handler([self](const caf::down_msg& msg) {
    auto& st = self->state;
    auto sink = std::find_if(st.event_sinks.begin(), st.event_sinks.end(),
                             [&msg](const node_event_sink_actor& x) {
                               return x.address() == msg.source;
                             });
    if (sink != st.event_sinks.end()) {
      st.event_sinks.erase(sink);
      return;
    }
    auto i = st.connections.find(msg.source);
    if (i == st.connections.end())
      return;
    auto id = i->second.id;
    st.connections.erase(i);
    auto n = st.nodes.find(id);
    if (n != st.nodes.end()) {
      auto reason = msg.reason ? to_failure(msg.reason).message
                               : std::string{"closed"};
      spdlog::info("node {} ({}) left: {}", n->second.info.name,
                   n->second.info.endpoint(), reason);
      for (auto& x : st.event_sinks)
        self->send(x, atom::goodbye_v, n->second.info, reason);
      auto [first, last] = st.kicks.equal_range(id);
      for (auto k = first; k != last; ++k)
        k->second.deliver(n->second.info);
      st.kicks.erase(first, last);
      st.names.erase(n->second.info.name);
      st.heartbeats.remove(id);
      st.nodes.erase(n);
    }
    update_admission(self);
    if (st.shutting_down && st.connections.empty())
      finish_shutdown(self);
  });
  self->set_exit_handler([self](const caf::exit_msg& msg) {
    // Tear down every connection: forked brokers outlive the acceptor.
    for (auto& [addr, rec] : self->state.connections)
      if (auto hdl = caf::actor_cast<caf::actor>(addr))
        self->send_exit(hdl, msg.reason);
    self->quit(msg.reason);
  });
  return {
    // -- connections ----------------------------------------------------------
    [self](atom::connected, node_connection_actor conn) {
      auto& st = self->state;
      self->monitor(conn);
      st.connections.emplace(conn->address(),
                             supervisor_state::connection_record{
                               0, self->clock().now()});
      if (st.shutting_down)
        self->send_exit(conn, caf::exit_reason::user_shutdown);
      else
        schedule_sweep(self, st.settings.handshake_timeout);
      if (!st.acceptor)
        st.acceptor = caf::actor_cast<caf::actor>(self->current_sender());
      update_admission(self);
    },
    [self](atom::tick) { sweep(self); },
    [self](atom::join, node_info info, node_connection_actor conn,
           node_liveness_ptr& liveness) -> caf::result<uint64_t> {
      auto& st = self->state;
      if (st.shutting_down)
        return make_error(wire_code::shutdown, "server is shutting down");
      if (auto why = protocol::node_name_problem(info.name))
        return make_error(wire_code::bad_request,
                          "invalid node name: " + *why);
      if (st.find(info.name) != nullptr)
        return make_error(wire_code::name_taken,
                          "a node named '" + info.name
                            + "' is already connected");
      if (st.nodes.size() >= st.settings.max_clients)
        return make_error(wire_code::server_full,
                          "server full: " + std::to_string(st.nodes.size())
                            + " nodes connected (max-clients)");
      info.id = st.next_id++;
      info.connected_ns = wall_clock_ns();
      st.connections[conn->address()].id = info.id;
      spdlog::info("node {} joined from {} (id {}, host {})", info.name,
                   info.endpoint(), info.id,
                   protocol::escape_name(info.hostname));
      st.names.emplace(info.name, info.id);
      st.heartbeats.add(info.id, conn, self->clock().now());
      schedule_round(self);
      st.nodes.emplace(info.id, supervisor_state::node_record{
                                  info, conn, std::move(liveness)});
      for (auto& x : st.event_sinks)
        self->send(x, atom::join_v, info);
      update_admission(self);
      release_waiters(self);
      return info.id;
    },
    [self](atom::heartbeat) { run_round(self); },
    // -- queries from the console ---------------------------------------------
    [self](atom::nodes) {
      std::vector<node_info> result;
      for (auto& [id, rec] : self->state.nodes)
        result.push_back(rec.row());
      return result;
    },
    [self](atom::nodes, const node_query& q) { return nodes_page(self, q); },
    [self](atom::resolve, const std::string& name)
      -> caf::result<node_info, node_connection_actor> {
      if (auto rec = self->state.find(name))
        return {rec->row(), rec->conn};
      return make_error(wire_code::not_found,
                        "no node named '" + name + "' (see 'nodes')");
    },
    [self](atom::kick, const std::string& operator_name,
           const std::string& name) -> caf::result<node_info> {
      auto rec = self->state.find(name);
      if (rec == nullptr)
        return make_error(wire_code::not_found,
                          "no node named '" + name + "' (see 'nodes')");
      spdlog::info("kicking node {} ({}) operator={}", rec->info.name,
                   rec->info.endpoint(), operator_name);
      self->send(rec->conn, atom::goodbye_v,
                 make_error(wire_code::kicked,
                            "disconnected by the server operator"));
      auto promise = self->make_response_promise<node_info>();
      self->state.kicks.emplace(rec->info.id, promise);
      return promise;
    },
    [self](atom::wait, uint64_t query, uint64_t count,
           caf::timespan timeout) -> caf::result<uint64_t> {
      auto& st = self->state;
      if (st.nodes.size() >= count)
        return uint64_t{st.nodes.size()};
      if (count > st.settings.max_clients)
        return make_error(wire_code::bad_request,
                          "cannot wait for " + std::to_string(count)
                            + " nodes: at most "
                            + std::to_string(st.settings.max_clients)
                            + " may connect (--max-clients)");
      if (timeout < caf::timespan::zero())
        return make_error(wire_code::bad_request, "negative wait timeout");
      auto id = st.next_waiter++;
      auto promise = self->make_response_promise<uint64_t>();
      st.waiters.emplace(id, supervisor_state::waiter{query, count, promise});
      self->delayed_send(self, timeout, atom::timeout_v, id);
      return promise;
    },
    [self](atom::broadcast, const std::string& operator_name,
           const std::string& text) -> caf::result<uint64_t> {
      auto& st = self->state;
      // Every node accepts frames of at least min_frame_limit; a longer
      // notice would make a node drop its connection with protocol_error.
      auto most = protocol::max_text_size(protocol::min_frame_limit);
      if (text.size() > most)
        return make_error(wire_code::bad_request,
                          "notice of " + std::to_string(text.size())
                            + " bytes is too long (at most "
                            + std::to_string(most) + ")");
      for (auto& [id, rec] : st.nodes)
        self->send(rec.conn, atom::notice_v, operator_name, text);
      return st.nodes.size();
    },
    [self](atom::echo, std::string& node, std::string& text) {
      auto& st = self->state;
      for (auto& x : st.event_sinks)
        self->send(x, atom::echo_v, node, text);
      if (st.echo_sink)
        self->send(st.echo_sink, atom::echo_v, std::move(node),
                   std::move(text));
    },
    [self](atom::subscribe, echo_sink_actor& sink) {
      self->state.echo_sink = std::move(sink);
    },
    [self](atom::subscribe, node_event_sink_actor& sink) {
      self->monitor(sink);
      self->state.event_sinks.push_back(std::move(sink));
    },
    [self](atom::cancel, uint64_t query) {
      auto& st = self->state;
      for (auto i = st.waiters.begin(); i != st.waiters.end(); ++i) {
        if (i->second.query == query) {
          i->second.promise.deliver(
            make_error(wire_code::cancelled, "cancelled"));
          st.waiters.erase(i);
          return;
        }
      }
    },
    [self](atom::timeout, uint64_t waiter_id) {
      auto& st = self->state;
      auto i = st.waiters.find(waiter_id);
      if (i == st.waiters.end())
        return;
      i->second.promise.deliver(make_error(
        wire_code::timeout, "only " + std::to_string(st.nodes.size()) + " of "
                              + std::to_string(i->second.count)
                              + " nodes connected before the timeout"));
      st.waiters.erase(i);
    },
    // -- shutdown -------------------------------------------------------------
    [self](atom::shutdown) -> caf::result<uint64_t> {
      return begin_shutdown(self, wire_code::shutdown);
    },
    [self](atom::restart) -> caf::result<uint64_t> {
      return begin_shutdown(self, wire_code::restarting);
    },
    [self](atom::deadline) {
      auto& st = self->state;
      if (st.shutdown_done)
        return;
      if (st.cutting_off || st.connections.empty()) {
        // Killed connections did not report back in time either.
        finish_shutdown(self);
        return;
      }
      // Grace period over: nodes that did not leave are cut off. The
      // shutdown completes once their down messages logged every leave.
      st.cutting_off = true;
      for (auto& [addr, rec] : st.connections)
        if (auto hdl = caf::actor_cast<caf::actor>(addr))
          self->send_exit(hdl, caf::exit_reason::kill);
      self->delayed_send(self, st.settings.shutdown_grace, atom::deadline_v);
    },
  };
}

} // namespace dirscope
