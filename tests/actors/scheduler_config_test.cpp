// The server's scheduler default (issue 9): work sharing, unless the INI
// file or the command line say otherwise.

#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include <caf/atom.hpp>
#include <caf/settings.hpp>

#include "actors/config.hpp"

using namespace dirscope;

namespace {

caf::atom_value policy_after(std::vector<std::string> xs) {
  xs.insert(xs.begin(), "dirscope-server");
  std::vector<char*> argv;
  for (auto& x : xs)
    argv.push_back(x.data());
  server_config cfg;
  REQUIRE_FALSE(cfg.parse_args(static_cast<int>(argv.size()), argv.data()));
  return caf::get_or(cfg, "scheduler.policy", caf::atom("unset"));
}

} // namespace

TEST_CASE("server config: work sharing is the default scheduler",
          "[config][issue9]") {
  CHECK(policy_after({}) == caf::atom("sharing"));
  CHECK(policy_after({"--scheduler.policy=stealing"}) == caf::atom("stealing"));
}
