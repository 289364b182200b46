// The handshake of a node connection: hello, the supervisor's admission,
// then welcome or reject.

#include <spdlog/spdlog.h>

#include "actors/error.hpp"
#include "actors/server/node_connection_ops.hpp"
#include "actors/wire_io.hpp"
#include "protocol/names.hpp"
#include "tls/pki.hpp"

namespace dirscope::node_conn {

namespace {

void on_welcome(self_ptr self, uint64_t id) {
  auto& st = self->state;
  st.info.id = id;
  st.stage = state::phase::joined;
  protocol::welcome w{id, wall_clock_ns(),
                      static_cast<uint32_t>(
                        st.settings.heartbeat_interval.count()),
                      st.settings.max_frame};
  // Only a node that said it understands the field gets it.
  if (st.info.capabilities & protocol::capability::features) {
    w.features = protocol::server_feature::list_progress
                 | protocol::server_feature::hash_progress;
    // Our frame limit must hold them too (it can be set down to 64 KiB).
    if ((st.info.capabilities & protocol::capability::large_chunks) != 0
        && st.settings.max_frame >= protocol::large_chunk_frame) {
      *w.features |= protocol::server_feature::large_chunks;
      st.data_chunk_limit = protocol::max_large_chunk;
    }
  }
  write(self, w);
}

} // namespace

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
  self->request(st.supervisor, caf::infinite, atom::join_v, st.info, conn,
                st.liveness)
    .then(
      [self](uint64_t id) {
        if (self->state.stage == state::phase::joining)
          on_welcome(self, id);
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

} // namespace dirscope::node_conn
