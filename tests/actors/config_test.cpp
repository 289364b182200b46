// Configuration: command-line forms, INI files, validation.

#include <catch2/catch.hpp>

#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include <unistd.h>

#include "actors/config.hpp"
#include "actors/error.hpp"

using namespace dirscope;

namespace {

/// Owns an argv built from strings.
struct args {
  explicit args(std::vector<std::string> xs) : strings(std::move(xs)) {
    strings.insert(strings.begin(), "prog");
    for (auto& x : strings)
      pointers.push_back(x.data());
  }

  int argc() {
    return static_cast<int>(pointers.size());
  }

  char** argv() {
    return pointers.data();
  }

  std::vector<std::string> strings;
  std::vector<char*> pointers;
};

/// A temporary INI file.
struct ini_file {
  explicit ini_file(const std::string& text) {
    char name[] = "/tmp/dirscope-config-test-XXXXXX";
    auto fd = mkstemp(name);
    REQUIRE(fd >= 0);
    close(fd);
    path = name;
    std::ofstream{path} << text;
  }

  ~ini_file() {
    std::remove(path.c_str());
  }

  std::string path;
};

} // namespace

TEST_CASE("long options accept a separate value", "[config]") {
  args a{{"--port", "1234", "--bind=::1", "--reconnect", "--json", "x"}};
  auto out = join_option_values(a.argc(), a.argv(), {"port", "bind"});
  CHECK(out == std::vector<std::string>{"--port=1234", "--bind=::1",
                                        "--reconnect", "--json", "x"});
}

TEST_CASE("an empty option value is passed as an empty string", "[config]") {
  args a{{"--log-file="}};
  auto out = join_option_values(a.argc(), a.argv(), {"log-file"});
  CHECK(out == std::vector<std::string>{"--log-file=\"\""});
}

TEST_CASE("server endpoints parse with and without brackets", "[config]") {
  auto v4 = parse_endpoint("10.0.0.5:3443");
  REQUIRE(v4);
  CHECK(v4->first == "10.0.0.5");
  CHECK(v4->second == 3443);
  auto v6 = parse_endpoint("[::1]:80");
  REQUIRE(v6);
  CHECK(v6->first == "::1");
  CHECK(v6->second == 80);
  for (auto bad : {"host", ":1", "host:", "host:0", "host:70000", "host:ab",
                   "host:123456"}) {
    INFO(bad);
    auto x = parse_endpoint(bad);
    REQUIRE(!x);
    CHECK(to_failure(x.error()).code == wire_code::bad_request);
  }
}

TEST_CASE("server options come from the command line in both forms",
          "[config]") {
  server_config cfg;
  args a{{"--port", "1234", "--heartbeat-interval=2s", "--max-clients",
          "7"}};
  REQUIRE(!cfg.parse_args(a.argc(), a.argv()));
  CHECK(cfg.port == 1234);
  auto s = cfg.settings();
  CHECK(s.heartbeat_interval == std::chrono::milliseconds{2000});
  CHECK(s.max_clients == 7);
  CHECK(s.heartbeat_misses == 3);
}

TEST_CASE("switches take an explicit value on the command line",
          "[config]") {
  ini_file ini{"[global]\nreconnect=true\n"};
  client_config cfg;
  REQUIRE(cfg.tls);
  args a{{"--config-file=" + ini.path, "--tls=false", "--reconnect=no"}};
  REQUIRE(!cfg.parse_args(a.argc(), a.argv()));
  CHECK(!cfg.tls);
  CHECK(!cfg.reconnect);
  client_config other;
  args b{{"--tls=maybe"}};
  CHECK(other.parse_args(b.argc(), b.argv()));
}

TEST_CASE("an unknown option is an error", "[config]") {
  server_config cfg;
  args a{{"--no-such-option=1"}};
  CHECK(cfg.parse_args(a.argc(), a.argv()));
}

TEST_CASE("--help prints and says so", "[config]") {
  client_config cfg;
  args a{{"--help"}};
  REQUIRE(!cfg.parse_args(a.argc(), a.argv()));
  CHECK(cfg.help_text.find("--root") != std::string::npos);
  CHECK(cfg.help_text.find("--server-fingerprint") != std::string::npos);
}

TEST_CASE("an INI file sets options and the command line wins", "[config]") {
  ini_file ini{"[global]\nport=4000\nbind=\"127.0.0.1\"\n"
               "request-timeout=5s\n"};
  server_config cfg;
  args a{{"--config-file=" + ini.path, "--port", "4001"}};
  REQUIRE(!cfg.parse_args(a.argc(), a.argv()));
  CHECK(cfg.port == 4001);
  CHECK(cfg.bind == "127.0.0.1");
  CHECK(cfg.settings().request_timeout == std::chrono::milliseconds{5000});
}

TEST_CASE("a max frame the protocol does not allow is refused", "[config]") {
  server_config cfg;
  args a{{"--max-frame=10"}};
  auto err = cfg.parse_args(a.argc(), a.argv());
  REQUIRE(err);
  CHECK(to_failure(err).message
        == "--max-frame must be between 65536 and 16777216, got 10");
  server_config ok;
  args b{{"--max-frame=65536"}};
  REQUIRE(!ok.parse_args(b.argc(), b.argv()));
  CHECK(ok.settings().max_frame == protocol::min_frame_limit);
}

namespace {

/// The message of the error parse_args gives for `xs` (empty: none).
template <class Config>
std::string refusal(std::vector<std::string> xs) {
  Config cfg;
  args a{std::move(xs)};
  auto err = cfg.parse_args(a.argc(), a.argv());
  if (!err)
    return {};
  CHECK(to_failure(err).code == wire_code::bad_request);
  return to_failure(err).message;
}

} // namespace

TEST_CASE("zero and out-of-range server settings are refused at start",
          "[config]") {
  CHECK(refusal<server_config>({"--heartbeat-interval=0s"})
        == "--heartbeat-interval must be between 100ms and 1h, got 0s");
  CHECK(refusal<server_config>({"--heartbeat-interval=-5s"})
        == "--heartbeat-interval must be between 100ms and 1h, got -5s");
  CHECK(refusal<server_config>({"--heartbeat-interval=2h"})
        == "--heartbeat-interval must be between 100ms and 1h, got 2h");
  CHECK(refusal<server_config>({"--request-timeout=0s"})
        == "--request-timeout must be between 100ms and 24h, got 0s");
  CHECK(refusal<server_config>({"--handshake-timeout=0s"})
        == "--handshake-timeout must be between 100ms and 1h, got 0s");
  CHECK(refusal<server_config>({"--heartbeat-misses=0"})
        == "--heartbeat-misses must be between 1 and 1000, got 0");
  CHECK(refusal<server_config>({"--max-clients=0"})
        == "--max-clients must be between 1 and 100000, got 0");
  CHECK(refusal<server_config>({"--max-in-flight=0"})
        == "--max-in-flight must be between 1 and 100000, got 0");
  CHECK(refusal<server_config>({"--max-path=0"})
        == "--max-path must be between 1 and 65535, got 0");
  // The same from an INI file.
  ini_file ini{"[global]\nheartbeat-interval=0s\n"};
  CHECK(refusal<server_config>({"--config-file=" + ini.path})
        == "--heartbeat-interval must be between 100ms and 1h, got 0s");
  // Values at the limits and the defaults pass.
  CHECK(refusal<server_config>({}).empty());
  CHECK(refusal<server_config>({"--heartbeat-interval=100ms",
                                "--request-timeout=24h",
                                "--handshake-timeout=1h",
                                "--heartbeat-misses=1", "--max-clients=1"})
          .empty());
}

TEST_CASE("zero and out-of-range client settings are refused at start",
          "[config]") {
  CHECK(refusal<client_config>({"--reconnect-min=0s"})
        == "--reconnect-min must be between 1ms and 1h, got 0s");
  CHECK(refusal<client_config>({"--reconnect-max=0s"})
        == "--reconnect-max must be between 1ms and 24h, got 0s");
  CHECK(refusal<client_config>({"--reconnect-min=2s", "--reconnect-max=1s"})
        == "--reconnect-max (1s) must not be shorter than --reconnect-min "
           "(2s)");
  CHECK(refusal<client_config>({"--workers=100000"})
        == "--workers must be between 0 and 1024, got 100000");
  CHECK(refusal<client_config>({}).empty());
  CHECK(refusal<client_config>({"--reconnect-min=200ms",
                                "--reconnect-max=500ms"})
          .empty());
}

TEST_CASE("the client needs a root and a usable name", "[config]") {
  SECTION("missing root") {
    client_config cfg;
    args a{{"--server=127.0.0.1:1"}};
    REQUIRE(!cfg.parse_args(a.argc(), a.argv()));
    auto s = cfg.settings();
    REQUIRE(!s);
    CHECK(to_failure(s.error()).message.find("--root") != std::string::npos);
  }
  SECTION("bad names") {
    std::vector<std::string> names{"a b", "a:b", "a/b", "a\\b",
                                   "caf\xc3\xa9", std::string(65, 'x')};
    for (auto& name : names) {
      client_config cfg;
      args a{{"--root=/tmp", std::string{"--name="} + name}};
      REQUIRE(!cfg.parse_args(a.argc(), a.argv()));
      CHECK(!cfg.settings());
    }
  }
  SECTION("defaults") {
    client_config cfg;
    args a{{"--root", "/tmp", "--server", "[::1]:3443", "--tls=false"}};
    REQUIRE(!cfg.parse_args(a.argc(), a.argv()));
    auto s = cfg.settings();
    REQUIRE(s);
    CHECK(s->server_host == "::1");
    CHECK(s->server_port == 3443);
    CHECK(s->root == "/tmp");
    CHECK(!s->name.empty());
    CHECK(s->name == s->hostname);
    CHECK(s->workers >= 1);
    CHECK(s->reconnect);
    CHECK(!s->allow_download);
    CHECK(!s->allow_upload);
    CHECK(!s->allow_delete);
  }
  SECTION("TLS needs a fingerprint or a CA") {
    client_config cfg;
    args a{{"--root", "/tmp"}};
    REQUIRE(!cfg.parse_args(a.argc(), a.argv()));
    auto s = cfg.settings();
    REQUIRE(!s);
    CHECK(to_failure(s.error()).message.find("--server-fingerprint")
          != std::string::npos);
  }
}
