#include "api/upload_source.hpp"

#include <algorithm>

#include "actors/error.hpp"
#include "node/transfer.hpp"
#include "protocol/messages.hpp"

namespace dirscope::api {

bool byte_pipe::push(const char* data, size_t len) {
  std::unique_lock<std::mutex> guard{mtx_};
  while (len > 0) {
    cv_.wait(guard, [this] { return aborted_ || buf_.size() < limit_; });
    if (aborted_)
      return false;
    auto n = std::min(len, limit_ - buf_.size());
    buf_.append(data, n);
    data += n;
    len -= n;
    cv_.notify_all();
  }
  return true;
}

void byte_pipe::finish() {
  std::lock_guard<std::mutex> guard{mtx_};
  finished_ = true;
  cv_.notify_all();
}

void byte_pipe::abort() {
  std::lock_guard<std::mutex> guard{mtx_};
  aborted_ = true;
  cv_.notify_all();
}

byte_pipe::got byte_pipe::pop(std::string& out, size_t most,
                              std::chrono::seconds wait) {
  std::unique_lock<std::mutex> guard{mtx_};
  if (!cv_.wait_for(guard, wait, [this] {
        return aborted_ || finished_ || !buf_.empty();
      }))
    return got::timeout;
  if (aborted_)
    return got::aborted;
  if (buf_.empty())
    return got::end;
  auto n = std::min(most, buf_.size());
  out.assign(buf_, 0, n);
  buf_.erase(0, n);
  cv_.notify_all();
  return got::data;
}

upload_source_actor::behavior_type
upload_source(upload_source_actor::stateful_pointer<upload_source_state> self,
              std::shared_ptr<byte_pipe> pipe, uint64_t size) {
  auto& st = self->state;
  st.pipe = std::move(pipe);
  st.size = size;
  return {
    [self](atom::read, uint64_t max_chunk) -> caf::result<node::file_chunk> {
      auto& st = self->state;
      node::file_chunk x;
      x.offset = st.offset;
      if (st.offset < st.size) {
        auto most = std::min<uint64_t>(max_chunk, st.size - st.offset);
        switch (st.pipe->pop(x.data, most, std::chrono::seconds{60})) {
          case byte_pipe::got::data:
            break;
          case byte_pipe::got::timeout:
            return make_error(wire_code::timeout,
                              "the client sent nothing for 60 s");
          case byte_pipe::got::end:
          case byte_pipe::got::aborted:
            return make_error(wire_code::cancelled,
                              "the client did not send the whole file");
        }
        st.hash.update(x.data);
        st.offset += x.data.size();
        return x;
      }
      x.end = true;
      x.size = st.size;
      x.sha256 = st.hash.finish();
      return x;
    },
  };
}

} // namespace dirscope::api
