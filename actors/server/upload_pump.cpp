#include "actors/server/upload_pump.hpp"

#include "node/transfer.hpp"
#include "protocol/messages.hpp"

namespace dirscope {

namespace {

using pump_ptr = upload_pump_actor::stateful_pointer<upload_pump_state>;

/// Reads the next chunk while the window has room; the last read says
/// the upload is complete.
void pump(pump_ptr self) {
  auto& st = self->state;
  if (st.reading || st.unacked >= protocol::data_window)
    return;
  st.reading = true;
  self->request(st.source, caf::infinite, atom::read_v, st.chunk_limit)
    .then(
      [self](node::file_chunk& x) {
        auto& st = self->state;
        st.reading = false;
        if (x.end) {
          self->send(st.conn, atom::done_v, st.id, x.size, x.sha256);
          self->quit();
          return;
        }
        ++st.unacked;
        self->send(st.conn, atom::data_v, st.id, x.offset, std::move(x.data));
        pump(self);
      },
      [self](caf::error& err) {
        auto& st = self->state;
        self->send(st.conn, atom::failed_v, st.id, std::move(err));
        self->quit();
      });
}

} // namespace

upload_pump_actor::behavior_type
upload_pump(upload_pump_actor::stateful_pointer<upload_pump_state> self,
            upload_target_actor conn, uint32_t id,
            upload_source_actor source, uint64_t chunk_limit) {
  auto& st = self->state;
  st.chunk_limit = chunk_limit;
  st.conn = std::move(conn);
  st.id = id;
  st.source = std::move(source);
  self->set_down_handler([self](const caf::down_msg&) { self->quit(); });
  self->monitor(st.conn);
  pump(self);
  return {
    [self](atom::ack) {
      auto& st = self->state;
      if (st.unacked > 0)
        --st.unacked;
      pump(self);
    },
  };
}

} // namespace dirscope
