#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <random>

#include <caf/typed_event_based_actor.hpp>

#include "actors/actors.hpp"
#include "actors/client/connector.hpp"
#include "actors/client/worker_pool.hpp"
#include "actors/settings.hpp"
#include "node/unique_fd.hpp"
#include "tls/context.hpp"

namespace dirscope {

/// Keeps one node connected to its server: owns the worker pool, connects,
/// and after a lost connection reconnects with exponential backoff. Quits
/// normally when the server ends the session or the process is asked to
/// stop, and with the error when the server rejects the node or (with
/// reconnect off) the connection fails. Never blocks (a connector does the
/// connecting), so a shutdown is handled at once in every state.
struct node_agent_state {
  static inline const char* name = "node_agent";

  client_settings settings;
  /// nullptr: plain TCP.
  std::shared_ptr<tls::context> tls;
  worker_pool pool;
  /// The connection broker, once connected.
  caf::actor conn;
  /// The attempt to connect in progress, if any.
  connector_actor connector;
  std::chrono::milliseconds backoff{0};
  /// Draws the jitter of each reconnect wait.
  std::minstd_rand rng{std::random_device{}()};
  bool stopping = false;
  /// Tells the workers to abandon hashing and the connector to give up once
  /// the node stops or the agent is gone.
  std::shared_ptr<std::atomic<bool>> abandon
    = std::make_shared<std::atomic<bool>>(false);

  ~node_agent_state() {
    *abandon = true;
  }
};

node_agent_actor::behavior_type
node_agent(node_agent_actor::stateful_pointer<node_agent_state> self,
           client_settings settings, std::shared_ptr<const node::unique_fd> root,
           std::shared_ptr<tls::context> tls);

/// True if a connection that ended with `reason` is worth retrying.
bool is_retryable(const caf::error& reason);

/// The wait before a reconnect: uniform in [backoff/2, backoff], picked by
/// `random`. Nodes cut off together (a server restart) come back spread
/// out instead of all in the same instant, and never later than `backoff`.
std::chrono::milliseconds jittered(std::chrono::milliseconds backoff,
                                   uint64_t random) noexcept;

} // namespace dirscope
