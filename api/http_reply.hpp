#pragma once

// How the API's endpoints answer: JSON lines, errors with an HTTP status,
// and chunked bodies fed by a stream_queue.

#include <chrono>
#include <memory>
#include <string>

#include <httplib.h>
#include <nlohmann/json.hpp>

#include "api/stream_queue.hpp"
#include "protocol/outcome.hpp"

namespace dirscope::api {

/// How long a response provider waits for its queue before it returns to
/// httplib (which then calls it again).
constexpr auto queue_pop_wait = std::chrono::milliseconds{200};

/// `x` as one line of JSON (NDJSON).
std::string json_line(const nlohmann::json& x);

/// Answers `status` with a JSON error object.
void reply_error(httplib::Response& res, int status, wire_code code,
                 const std::string& message);

/// The HTTP status for a failure before any byte was sent.
int http_status(wire_code code);

/// The provider of a chunked response fed by `queue`. While the queue is
/// silent for `every`, it writes `keepalive` (nothing if empty): the write
/// fails once the client left.
httplib::ContentProviderWithoutLength
pump_from(std::shared_ptr<stream_queue> queue, std::string keepalive,
          std::chrono::steady_clock::duration every);

} // namespace dirscope::api
