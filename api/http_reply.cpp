#include "api/http_reply.hpp"

#include "api/event_relay.hpp"

namespace dirscope::api {

using json = nlohmann::json;
using steady = std::chrono::steady_clock;

std::string json_line(const json& x) {
  return dump_json(x) + "\n";
}

void reply_error(httplib::Response& res, int status, wire_code code,
                 const std::string& message) {
  res.status = status;
  res.set_content(json_line(json{{"status", "error"},
                                 {"code", std::string{to_string(code)}},
                                 {"message", message}}),
                  "application/json");
}

int http_status(wire_code code) {
  switch (code) {
    case wire_code::not_found:
      return 404;
    case wire_code::permission_denied:
    case wire_code::not_permitted:
    case wire_code::outside_root:
    case wire_code::not_readable:
      return 403;
    case wire_code::bad_request:
    case wire_code::not_a_directory:
    case wire_code::symlink_loop:
      return 400;
    case wire_code::timeout:
      return 504;
    case wire_code::already_exists:
      return 409;
    default:
      return 502;
  }
}

httplib::ContentProviderWithoutLength
pump_from(std::shared_ptr<stream_queue> queue, std::string keepalive,
          steady::duration every) {
  auto last = std::make_shared<steady::time_point>(steady::now());
  return [queue, keepalive, every, last](size_t, httplib::DataSink& sink) {
    std::string chunk;
    switch (queue->pop(chunk, queue_pop_wait)) {
      case stream_queue::got::data:
        *last = steady::now();
        return sink.write(chunk.data(), chunk.size());
      case stream_queue::got::idle:
        if (keepalive.empty() || steady::now() - *last < every)
          return true;
        *last = steady::now();
        return sink.write(keepalive.data(), keepalive.size());
      case stream_queue::got::end:
        sink.done();
        return true;
      case stream_queue::got::failed:
        return false;
    }
    return false;
  };
}

} // namespace dirscope::api
