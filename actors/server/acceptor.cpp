#include "actors/server/acceptor.hpp"

#include <caf/io/doorman.hpp>
#include <caf/io/system_messages.hpp>

namespace dirscope {

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
