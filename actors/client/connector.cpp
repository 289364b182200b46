#include "actors/client/connector.hpp"

#include "actors/error.hpp"
#include "node/tcp_connect.hpp"

namespace dirscope {

connector_actor::behavior_type
connector(connector_actor::stateful_pointer<connector_state> self,
          std::shared_ptr<const std::atomic<bool>> abandon) {
  self->state.abandon = std::move(abandon);
  return {
    [self](atom::connect, const std::string& host,
           uint16_t port) -> caf::result<int> {
      auto& abandon = *self->state.abandon;
      auto fd = node::tcp_connect(host, port, connect_timeout, abandon);
      if (!fd)
        return to_error(fd.error());
      if (abandon) // nobody would take the socket anymore
        return to_error(
          make_failure(wire_code::cancelled, "connecting was abandoned"));
      return fd->release();
    },
  };
}

} // namespace dirscope
