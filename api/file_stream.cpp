#include "api/file_stream.hpp"

#include "actors/error.hpp"

namespace dirscope::api {

void file_start::started(uint64_t size) {
  {
    std::lock_guard<std::mutex> guard{mtx_};
    if (result_)
      return;
    result_ = outcome<uint64_t>{size};
  }
  cv_.notify_all();
}

void file_start::failed(failure why) {
  {
    std::lock_guard<std::mutex> guard{mtx_};
    if (result_)
      return;
    result_ = outcome<uint64_t>{std::move(why)};
  }
  cv_.notify_all();
}

std::optional<outcome<uint64_t>> file_start::await(std::chrono::seconds wait) {
  std::unique_lock<std::mutex> guard{mtx_};
  cv_.wait_for(guard, wait, [this] { return result_.has_value(); });
  return result_;
}

file_stream_actor::behavior_type
file_stream(file_stream_actor::stateful_pointer<file_stream_state> self,
            node_connection_actor conn, request_origin origin, std::string path,
            std::shared_ptr<stream_queue> queue,
            std::shared_ptr<file_start> start) {
  auto& st = self->state;
  st.conn = std::move(conn);
  st.query = origin.query;
  st.queue = std::move(queue);
  st.start = std::move(start);
  auto sink = caf::actor_cast<transfer_sink_actor>(self);
  self->request(st.conn, caf::infinite, atom::get_v, std::move(origin), path,
                uint64_t{0},
                protocol::transfer_meta, sink)
    .then(
      [self](uint64_t size, protocol::sha256_digest&) {
        auto& st = self->state;
        st.start->started(size); // an empty file sends no bytes
        st.queue->close();
        self->quit();
      },
      [self](caf::error& err) {
        auto& st = self->state;
        st.start->failed(to_failure(err));
        st.queue->abort(); // cut short: the client sees a short body
        self->quit();
      });
  auto ack_if_room = [self] {
    auto& st = self->state;
    while (st.owed > 0 && st.queue->size() < file_stream_high_water) {
      --st.owed;
      self->send(st.conn, atom::ack_v, st.query);
    }
  };
  return {
    [self](atom::meta, uint64_t query, uint64_t size, uint32_t, int64_t) {
      auto& st = self->state;
      if (query == st.query)
        st.start->started(size);
    },
    [self, ack_if_room](atom::data, uint64_t query, uint64_t,
                        std::string& bytes) {
      auto& st = self->state;
      if (query != st.query)
        return;
      if (!st.queue->push(bytes)) {
        // The client left (closed) or the queue overflowed: stop.
        self->send(st.conn, atom::cancel_v, st.query);
        st.queue->abort();
        return;
      }
      ++st.owed;
      ack_if_room();
    },
    [ack_if_room](atom::ack) { ack_if_room(); },
  };
}

} // namespace dirscope::api
