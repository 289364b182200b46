#include "api/stream_queue.hpp"

namespace dirscope::api {

bool stream_queue::push(const std::string& text) {
  {
    std::lock_guard<std::mutex> guard{mtx_};
    if (closed_ || buf_.size() + text.size() > limit_)
      return false;
    buf_ += text;
  }
  cv_.notify_one();
  return true;
}

void stream_queue::close(const std::string& last) {
  {
    std::lock_guard<std::mutex> guard{mtx_};
    if (closed_)
      return;
    buf_ += last;
    closed_ = true;
  }
  cv_.notify_one();
}

void stream_queue::abort() {
  {
    std::lock_guard<std::mutex> guard{mtx_};
    if (closed_)
      return;
    closed_ = true;
    failed_ = true;
  }
  cv_.notify_one();
}

size_t stream_queue::size() {
  std::lock_guard<std::mutex> guard{mtx_};
  return buf_.size();
}

stream_queue::got stream_queue::pop(std::string& out,
                                    std::chrono::milliseconds wait) {
  std::unique_lock<std::mutex> guard{mtx_};
  if (buf_.empty() && !closed_)
    cv_.wait_for(guard, wait, [this] { return !buf_.empty() || closed_; });
  if (!buf_.empty()) {
    out.swap(buf_);
    buf_.clear();
    return got::data;
  }
  if (!closed_)
    return got::idle;
  return failed_ ? got::failed : got::end;
}

bool stream_queue::closed() {
  std::lock_guard<std::mutex> guard{mtx_};
  return closed_;
}

} // namespace dirscope::api
