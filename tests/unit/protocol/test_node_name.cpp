#include <catch2/catch.hpp>

#include <string>

#include "protocol/node_name.hpp"

using dirscope::protocol::is_valid_node_name;
using dirscope::protocol::node_name_problem;

TEST_CASE("node names", "[node_name]") {
  for (auto ok : {"n1", "web-01.example", "A_b~c", "x", "17a", "a17", "0x1",
                  "...", ".a", "1.2", "_1"}) {
    INFO(ok);
    CHECK(is_valid_node_name(ok));
    CHECK_FALSE(node_name_problem(ok));
  }
  CHECK(is_valid_node_name(std::string(64, 'x')));
  CHECK_FALSE(is_valid_node_name(std::string(65, 'x')));
  for (auto bad : {"", "a b", "a:b", "a/b", "a\\b", "caf\xc3\xa9", "tab\t",
                   "del\x7f"}) {
    INFO(bad);
    CHECK_FALSE(is_valid_node_name(bad));
  }
}

TEST_CASE("node names cannot pass for node ids", "[node_name]") {
  // A node named "17" would be reached by `ls 17:/` instead of node id 17.
  for (const std::string& id :
       {std::string{"0"}, std::string{"1"}, std::string{"17"},
        std::string{"007"}, std::string{"18446744073709551615"},
        std::string(64, '9')}) {
    INFO(id);
    CHECK_FALSE(is_valid_node_name(id));
    auto why = node_name_problem(id);
    REQUIRE(why);
    CHECK(why->find("digits") != std::string::npos);
  }
}

TEST_CASE("node names '.', '..' and option look-alikes are refused",
          "[node_name]") {
  for (auto bad : {".", ".."}) {
    INFO(bad);
    CHECK_FALSE(is_valid_node_name(bad));
    auto why = node_name_problem(bad);
    REQUIRE(why);
    CHECK(why->find("'.' or '..'") != std::string::npos);
  }
  for (auto bad : {"-", "--all", "-x"}) {
    INFO(bad);
    CHECK_FALSE(is_valid_node_name(bad));
    REQUIRE(node_name_problem(bad));
    CHECK(node_name_problem(bad)->find("'-'") != std::string::npos);
  }
}

TEST_CASE("node name reasons never echo the name", "[node_name]") {
  // The reason goes into a reject and the server's log: a hostile name with
  // terminal escapes must not ride along.
  std::string hostile = "\x1b]0;owned\x07";
  auto why = node_name_problem(hostile);
  REQUIRE(why);
  CHECK(why->find('\x1b') == std::string::npos);
  CHECK(node_name_problem(std::string(100, 'x'))->find("100")
        != std::string::npos);
}
