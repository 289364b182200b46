#include "protocol/wire_code.hpp"

namespace dirscope {

std::string_view to_string(wire_code x) noexcept {
  switch (x) {
    case wire_code::ok:
      return "ok";
    case wire_code::not_found:
      return "not_found";
    case wire_code::permission_denied:
      return "permission_denied";
    case wire_code::not_a_directory:
      return "not_a_directory";
    case wire_code::outside_root:
      return "outside_root";
    case wire_code::bad_request:
      return "bad_request";
    case wire_code::io_error:
      return "io_error";
    case wire_code::too_many_requests:
      return "too_many_requests";
    case wire_code::cancelled:
      return "cancelled";
    case wire_code::protocol_error:
      return "protocol_error";
    case wire_code::version_mismatch:
      return "version_mismatch";
    case wire_code::name_taken:
      return "name_taken";
    case wire_code::server_full:
      return "server_full";
    case wire_code::shutdown:
      return "shutdown";
    case wire_code::kicked:
      return "kicked";
    case wire_code::timeout:
      return "timeout";
    case wire_code::client_exit:
      return "client_exit";
    case wire_code::not_readable:
      return "not_readable";
    case wire_code::symlink_loop:
      return "symlink_loop";
    case wire_code::internal:
      return "internal";
    case wire_code::unauthorized:
      return "unauthorized";
    case wire_code::not_permitted:
      return "not_permitted";
    case wire_code::tls_failure:
      return "tls_failure";
    case wire_code::tls_required:
      return "tls_required";
    case wire_code::already_exists:
      return "already_exists";
    case wire_code::restarting:
      return "restarting";
  }
  // Only reachable through a cast from an out-of-range integer.
  return "unknown";
}

wire_code wire_code_from(uint16_t x) noexcept {
  if (x > static_cast<uint16_t>(last_wire_code))
    return wire_code::internal;
  return static_cast<wire_code>(x);
}

} // namespace dirscope
