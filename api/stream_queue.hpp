#pragma once

// Text on its way from an actor (writer) to an HTTP handler thread
// (reader): one response body, bounded, closed once.

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <mutex>
#include <string>

namespace dirscope::api {

class stream_queue {
public:
  /// What a reader that falls further behind than this loses: the writer
  /// is told (push returns false) and ends the command.
  static constexpr size_t default_limit = 16u << 20;

  explicit stream_queue(size_t limit = default_limit) : limit_(limit) {
  }

  /// Appends `text`; false (and nothing appended) when over the limit or
  /// closed.
  bool push(const std::string& text);

  /// Appends `last` and ends the stream; later pushes and closes are
  /// ignored.
  void close(const std::string& last = {});

  /// Ends the stream as broken: the reader gets `failed` after the bytes
  /// already queued (and cuts the response short).
  void abort();

  enum class got { data, idle, end, failed };

  /// Moves what is queued into `out` (data), or waits up to `wait` for
  /// more (idle), or reports the end once all was read.
  got pop(std::string& out, std::chrono::milliseconds wait);

  bool closed();

  /// Bytes queued and not read yet.
  size_t size();

private:
  std::mutex mtx_;
  std::condition_variable cv_;
  std::string buf_;
  bool closed_ = false;
  bool failed_ = false;
  size_t limit_;
};

} // namespace dirscope::api
