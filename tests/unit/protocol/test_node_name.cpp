#include <catch2/catch.hpp>

#include <string>

#include "protocol/node_name.hpp"

using dirscope::protocol::is_valid_node_name;

TEST_CASE("node names", "[node_name]") {
  for (auto ok : {"n1", "web-01.example", "A_b~c", "x"})
    CHECK(is_valid_node_name(ok));
  CHECK(is_valid_node_name(std::string(64, 'x')));
  CHECK_FALSE(is_valid_node_name(std::string(65, 'x')));
  for (auto bad : {"", "a b", "a:b", "a/b", "a\\b", "caf\xc3\xa9", "tab\t",
                   "del\x7f"})
    CHECK_FALSE(is_valid_node_name(bad));
}
