#include "actors/server/acceptor.hpp"

#include <cstring>
#include <memory>

#include <caf/io/doorman.hpp>
#include <caf/io/system_messages.hpp>
#include <spdlog/spdlog.h>
#include <sys/resource.h>

#include "actors/server/fd_limit.hpp"

namespace dirscope {

caf::behavior acceptor(caf::io::broker* self, caf::io::doorman_ptr doorman,
                       supervisor_actor supervisor, server_settings settings,
                       tls_context_ptr tls) {
  auto door = doorman->hdl();
  self->add_doorman(std::move(doorman));
  // Out of descriptors since the last accepted connection: said once.
  auto starved = std::make_shared<bool>(false);
  return {
    [self, supervisor, settings, tls,
     starved](const caf::io::new_connection_msg& msg) {
      if (*starved) {
        *starved = false;
        spdlog::warn("file descriptors free again: accepting nodes");
      }
      auto conn = self->fork(node_connection, msg.handle, supervisor,
                             settings, tls);
      self->send(supervisor, atom::connected_v,
                 caf::actor_cast<node_connection_actor>(conn));
    },
    [self, door, starved](atom::wait, int err) {
      self->halt(door);
      if (!*starved) {
        *starved = true;
        rlimit lim{};
        ::getrlimit(RLIMIT_NOFILE, &lim);
        spdlog::error("cannot accept nodes: {} ({} descriptors open, limit "
                      "{}); not accepting until some close, retrying every "
                      "{} ms",
                      std::strerror(err), open_descriptors(), lim.rlim_cur,
                      accept_retry.count());
      }
      self->delayed_send(self, accept_retry, atom::tick_v);
    },
    [self, door](atom::tick) { self->trigger(door); },
  };
}

} // namespace dirscope
