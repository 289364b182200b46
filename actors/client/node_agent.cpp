#include "actors/client/node_agent.hpp"

#include <unistd.h>

#include <caf/io/middleman.hpp>
#include <caf/send.hpp>
#include <spdlog/spdlog.h>

#include "actors/client/client_connection.hpp"
#include "actors/client/connector.hpp"
#include "actors/client/fs_worker.hpp"
#include "actors/error.hpp"

namespace dirscope {

bool is_retryable(const caf::error& reason) {
  if (!reason || reason == caf::exit_reason::normal)
    return false;
  if (reason.category() != caf::atom("dirscope"))
    return true; // CAF-level I/O errors (refused, unreachable...)
  switch (wire_code_from(reason.code())) {
    case wire_code::io_error:
    case wire_code::timeout:
    case wire_code::protocol_error:
    case wire_code::shutdown:
    case wire_code::restarting:
      return true;
    default:
      return false; // rejected: name taken, version mismatch, server full...
  }
}

std::chrono::milliseconds jittered(std::chrono::milliseconds backoff,
                                   uint64_t random) noexcept {
  auto half = backoff.count() / 2;
  auto span = static_cast<uint64_t>(backoff.count() - half) + 1;
  return std::chrono::milliseconds{half
                                   + static_cast<long>(random % span)};
}

namespace {

using self_ptr = node_agent_actor::stateful_pointer<node_agent_state>;

/// The node's connection over a socket that a connector connected.
caf::behavior adopted_connection(client_connection_broker self, int fd,
                                 client_settings settings, worker_pool pool,
                                 node_agent_actor agent,
                                 std::shared_ptr<tls::context> tls) {
  auto hdl = self->add_scribe(fd);
  return client_connection(self, hdl, std::move(settings), std::move(pool),
                           std::move(agent), std::move(tls));
}

void retry_or_quit(self_ptr self, const caf::error& reason) {
  auto& st = self->state;
  if (st.stopping)
    return self->quit();
  if (!st.settings.reconnect || !is_retryable(reason))
    return self->quit(reason);
  st.backoff = st.backoff.count() == 0
                 ? st.settings.reconnect_min
                 : std::min(st.backoff * 2, st.settings.reconnect_max);
  auto wait = jittered(st.backoff, st.rng());
  spdlog::info("reconnecting in {} ms", wait.count());
  // Anonymous: a self-sent delayed message that outlives the actor keeps it
  // in memory for ever (see client_connection's tick).
  caf::delayed_anon_send(caf::actor_cast<node_agent_actor>(self), wait,
                         atom::connect_v);
}

void on_connected(self_ptr self, int fd) {
  auto& st = self->state;
  st.conn = self->home_system().middleman().spawn_broker(
    adopted_connection, fd, st.settings, st.pool,
    caf::actor_cast<node_agent_actor>(self), st.tls);
  self->monitor(st.conn);
}

/// Ends the connection attempt in progress, if any (its answer is dropped).
void end_connector(self_ptr self) {
  auto& st = self->state;
  if (!st.connector)
    return;
  self->unlink_from(st.connector);
  self->send_exit(st.connector, caf::exit_reason::user_shutdown);
  st.connector = nullptr;
}

void connect(self_ptr self) {
  auto& st = self->state;
  if (st.stopping || st.conn || st.connector)
    return;
  spdlog::debug("connecting to {}:{}", st.settings.server_host,
                st.settings.server_port);
  st.connector = self->spawn<caf::detached + caf::linked>(connector,
                                                          st.abandon);
  self
    ->request(st.connector, caf::infinite, atom::connect_v,
              st.settings.server_host, st.settings.server_port)
    .then(
      [self](int fd) {
        end_connector(self);
        if (self->state.stopping) {
          ::close(fd);
          return;
        }
        on_connected(self, fd);
      },
      [self](caf::error& err) {
        end_connector(self);
        auto& st = self->state;
        if (st.stopping)
          return;
        auto why = to_failure(err).message;
        spdlog::warn("cannot connect to {}:{}: {}", st.settings.server_host,
                     st.settings.server_port, why);
        retry_or_quit(self, make_error(wire_code::io_error,
                                       "cannot connect to the server: "
                                         + why));
      });
}

} // namespace

node_agent_actor::behavior_type
node_agent(node_agent_actor::stateful_pointer<node_agent_state> self,
           client_settings settings,
           std::shared_ptr<const node::unique_fd> root,
           std::shared_ptr<tls::context> tls) {
  auto& st = self->state;
  st.settings = std::move(settings);
  st.tls = std::move(tls);
  auto cache = std::make_shared<node::hash_cache>();
  for (size_t i = 0; i < st.settings.workers; ++i) {
    st.pool.workers.push_back(
      self->spawn<caf::detached + caf::linked>(fs_worker, root, cache,
                                               st.settings.sort_limit,
                                               st.abandon));
    st.pool.bulk.push_back(
      self->spawn<caf::detached + caf::linked>(fs_worker, root, cache,
                                               st.settings.sort_limit,
                                               st.abandon));
  }
  self->set_down_handler([self](const caf::down_msg& msg) {
    auto& st = self->state;
    if (msg.source != st.conn.address())
      return;
    st.conn = nullptr;
    if (!msg.reason || msg.reason == caf::exit_reason::normal) {
      return self->quit();
    }
    retry_or_quit(self, msg.reason);
  });
  self->send(self, atom::connect_v);
  return {
    [self](atom::connect) { connect(self); },
    [self](atom::welcomed) {
      self->state.backoff = std::chrono::milliseconds{0};
    },
    [self](atom::echo, std::string& line) {
      auto& st = self->state;
      if (!st.conn) {
        spdlog::warn("not connected to the server: line not sent");
        return;
      }
      self->send(caf::actor_cast<client_connection_actor>(st.conn),
                 atom::echo_v, std::move(line));
    },
    [self](atom::shutdown) {
      auto& st = self->state;
      st.stopping = true;
      *st.abandon = true;
      // Connecting: the connector notices `abandon` within one poll slice.
      end_connector(self);
      if (!st.conn)
        return self->quit();
      spdlog::info("stopping: saying goodbye to the server");
      self->send(caf::actor_cast<client_connection_actor>(st.conn),
                 atom::goodbye_v,
                 make_error(wire_code::client_exit, "the node is stopping"));
    },
  };
}

} // namespace dirscope
