#include <catch2/catch.hpp>

#include <set>
#include <string>

#include "protocol/wire_code.hpp"

using namespace dirscope;

TEST_CASE("wire codes have fixed values and names", "[wire_code]") {
  struct row {
    wire_code code;
    uint16_t value;
    const char* name;
  };
  std::vector<row> table{
    {wire_code::ok, 0, "ok"},
    {wire_code::not_found, 1, "not_found"},
    {wire_code::permission_denied, 2, "permission_denied"},
    {wire_code::not_a_directory, 3, "not_a_directory"},
    {wire_code::outside_root, 4, "outside_root"},
    {wire_code::bad_request, 5, "bad_request"},
    {wire_code::io_error, 6, "io_error"},
    {wire_code::too_many_requests, 7, "too_many_requests"},
    {wire_code::cancelled, 8, "cancelled"},
    {wire_code::protocol_error, 9, "protocol_error"},
    {wire_code::version_mismatch, 10, "version_mismatch"},
    {wire_code::name_taken, 11, "name_taken"},
    {wire_code::server_full, 12, "server_full"},
    {wire_code::shutdown, 13, "shutdown"},
    {wire_code::kicked, 14, "kicked"},
    {wire_code::timeout, 15, "timeout"},
    {wire_code::client_exit, 16, "client_exit"},
    {wire_code::not_readable, 17, "not_readable"},
    {wire_code::symlink_loop, 18, "symlink_loop"},
    {wire_code::internal, 19, "internal"},
    {wire_code::unauthorized, 20, "unauthorized"},
    {wire_code::not_permitted, 21, "not_permitted"},
    {wire_code::tls_failure, 22, "tls_failure"},
    {wire_code::tls_required, 23, "tls_required"},
    {wire_code::already_exists, 24, "already_exists"},
    {wire_code::restarting, 25, "restarting"},
  };
  CHECK(static_cast<uint16_t>(last_wire_code) == table.back().value);
  std::set<std::string> names;
  for (auto& x : table) {
    INFO("code " << x.value);
    CHECK(static_cast<uint16_t>(x.code) == x.value);
    CHECK(to_string(x.code) == x.name);
    CHECK(wire_code_from(x.value) == x.code);
    names.emplace(to_string(x.code));
  }
  CHECK(names.size() == table.size());
}

TEST_CASE("unknown wire values map to internal", "[wire_code]") {
  for (uint32_t x = static_cast<uint32_t>(last_wire_code) + 1; x <= 0xffff;
       ++x)
    if (wire_code_from(static_cast<uint16_t>(x)) != wire_code::internal)
      FAIL("value " << x);
  CHECK(to_string(static_cast<wire_code>(999)) == "unknown");
}
