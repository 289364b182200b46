// tcp_connect on loopback: success, refusal, and a peer that never answers
// (a listener whose accept queue is full: Linux drops further SYNs, as a
// blackholed host would), which must time out or be abandoned promptly.

#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "node/tcp_connect.hpp"

using namespace dirscope;
using namespace dirscope::node;
using namespace std::chrono_literals;

namespace {

/// A loopback listener on a free port with the given backlog.
struct listener {
  unique_fd fd;
  uint16_t port = 0;

  explicit listener(int backlog) {
    fd = unique_fd{::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)};
    REQUIRE(fd);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::bind(fd.get(), reinterpret_cast<sockaddr*>(&addr),
                   sizeof(addr))
            == 0);
    REQUIRE(::listen(fd.get(), backlog) == 0);
    socklen_t len = sizeof(addr);
    REQUIRE(::getsockname(fd.get(), reinterpret_cast<sockaddr*>(&addr), &len)
            == 0);
    port = ntohs(addr.sin_port);
  }
};

/// A listener that never accepts, its queue filled: connects to it hang in
/// SYN_SENT. Empty if the kernel does not behave that way here.
struct blackhole {
  listener srv{0};
  std::vector<unique_fd> fillers;

  /// True if a further connect really hangs.
  bool works() {
    std::atomic<bool> no{false};
    // Fill the queue (backlog 0 admits one; a few more to be safe).
    for (int i = 0; i < 4; ++i) {
      auto x = tcp_connect("127.0.0.1", srv.port, 300ms, no);
      if (!x)
        return x.error().message.find("no answer") != std::string::npos;
      fillers.push_back(std::move(*x));
    }
    return false;
  }
};

} // namespace

TEST_CASE("tcp_connect: connects to a listener", "[tcp_connect]") {
  listener srv{4};
  std::atomic<bool> abandon{false};
  auto fd = tcp_connect("127.0.0.1", srv.port, 5s, abandon);
  REQUIRE(fd);
  CHECK(fd->get() >= 0);
  auto peer = unique_fd{::accept(srv.fd.get(), nullptr, nullptr)};
  REQUIRE(peer);
  REQUIRE(::write(fd->get(), "x", 1) == 1);
  char c = 0;
  REQUIRE(::read(peer.get(), &c, 1) == 1);
  CHECK(c == 'x');
}

TEST_CASE("tcp_connect: a closed port is refused", "[tcp_connect]") {
  uint16_t port = 0;
  {
    listener srv{1};
    port = srv.port;
  } // closed again
  std::atomic<bool> abandon{false};
  auto fd = tcp_connect("127.0.0.1", port, 5s, abandon);
  REQUIRE_FALSE(fd);
  CHECK(fd.error().code == wire_code::io_error);
  CHECK(fd.error().message.find("refused") != std::string::npos);
}

TEST_CASE("tcp_connect: an unknown host fails", "[tcp_connect]") {
  std::atomic<bool> abandon{false};
  auto fd = tcp_connect("no-such-host.invalid", 3443, 5s, abandon);
  REQUIRE_FALSE(fd);
  CHECK(fd.error().code == wire_code::io_error);
}

TEST_CASE("tcp_connect: a peer that never answers", "[tcp_connect]") {
  blackhole hole;
  if (!hole.works()) {
    WARN("cannot make a loopback blackhole here; skipped");
    return;
  }
  SECTION("times out") {
    std::atomic<bool> abandon{false};
    auto fd = tcp_connect("127.0.0.1", hole.srv.port, 300ms, abandon);
    REQUIRE_FALSE(fd);
    CHECK(fd.error().code == wire_code::io_error);
    CHECK(fd.error().message == "no answer within 0.3 s");
  }
  SECTION("is abandoned when asked, long before its timeout") {
    std::atomic<bool> abandon{false};
    std::thread stopper{[&abandon] {
      std::this_thread::sleep_for(200ms);
      abandon = true;
    }};
    // Without abandoning this would wait the full two minutes.
    auto fd = tcp_connect("127.0.0.1", hole.srv.port, 120s, abandon);
    stopper.join();
    REQUIRE_FALSE(fd);
    CHECK(fd.error().code == wire_code::cancelled);
  }
}
