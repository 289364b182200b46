// The acceptor when the process runs out of file descriptors (issue 9):
// it stops accepting, says so once, and tries again until it can. Also the
// start-up check of max-clients against RLIMIT_NOFILE.

#include <cerrno>
#include <sstream>

#include <caf/io/accept_handle.hpp>
#include <caf/io/connection_handle.hpp>
#include <caf/send.hpp>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>
#include <sys/resource.h>

#include "actors/server/acceptor.hpp"
#include "actors/server/fd_limit.hpp"
#include "actors/server/listener.hpp"
#include "actors/server/supervisor.hpp"
#include "tests/actors/fixture.hpp"

using namespace dirscope;
using namespace dirscope::test;

namespace {

size_t count_of(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (auto i = text.find(what); i != std::string::npos;
       i = text.find(what, i + 1))
    ++n;
  return n;
}

/// Sends everything spdlog writes into `text` while it lives.
struct acceptor_log {
  std::ostringstream text;
  std::shared_ptr<spdlog::logger> saved = spdlog::default_logger();
  spdlog::level::level_enum saved_level = spdlog::get_level();

  acceptor_log() {
    auto sink = std::make_shared<spdlog::sinks::ostream_sink_st>(text);
    spdlog::set_default_logger(std::make_shared<spdlog::logger>("x", sink));
    spdlog::set_level(spdlog::level::info);
  }

  ~acceptor_log() {
    spdlog::set_default_logger(saved);
    spdlog::set_level(saved_level);
  }
};

struct acceptor_fixture : fixture {
  static constexpr uint16_t port = 3443;
  caf::io::accept_handle ah = caf::io::accept_handle::from_int(1);
  server_settings settings;
  supervisor_actor sup;
  caf::actor acc;
  int64_t next_connection = 100;

  acceptor_fixture() {
    mpx.provide_acceptor(port, ah);
    sup = track(sys.spawn(supervisor, settings));
    auto& mm = sys.middleman();
    // As server_main.cpp does it (the test backend's doorman).
    auto doorman = open_listener(mm.backend(), port, nullptr, true);
    REQUIRE(doorman);
    acc = track(mm.spawn_broker(acceptor, std::move(*doorman), sup, settings,
                                tls_context_ptr{}));
    run();
  }

  /// A TCP connection arrives; true if the acceptor forked a broker for it.
  bool connect() {
    auto ch = caf::io::connection_handle::from_int(next_connection++);
    mpx.add_pending_connect(ah, ch);
    mpx.accept_connection(ah);
    run();
    return mpx.impl_ptr(ch) != nullptr;
  }

  /// What the doorman reports when accept() fails with `err`.
  void out_of_descriptors(int err = EMFILE) {
    caf::anon_send(acc, atom::wait_v, err);
    run();
  }
};

} // namespace

TEST_CASE_METHOD(acceptor_fixture,
                 "acceptor: out of descriptors it stops accepting, logs "
                 "once, and resumes",
                 "[acceptor][issue9]") {
  acceptor_log log;
  REQUIRE(connect());
  REQUIRE_FALSE(mpx.passive_mode(ah));
  out_of_descriptors();
  // Out of the loop: no more accept() calls until the retry.
  CHECK(mpx.passive_mode(ah));
  CHECK(count_of(log.text.str(), "cannot accept nodes") == 1);
  CHECK(count_of(log.text.str(), "Too many open files") == 1);
  // Retries that fail again say nothing new.
  for (int i = 0; i < 5; ++i) {
    advance(accept_retry);
    CHECK_FALSE(mpx.passive_mode(ah));
    out_of_descriptors();
    CHECK(mpx.passive_mode(ah));
  }
  CHECK(count_of(log.text.str(), "cannot accept nodes") == 1);
  // Descriptors are free again: the retry accepts, and says so once.
  advance(accept_retry);
  CHECK_FALSE(mpx.passive_mode(ah));
  CHECK(connect());
  CHECK(connect());
  CHECK(count_of(log.text.str(), "accepting nodes") == 1);
  // A later shortage is a new episode, logged again.
  out_of_descriptors(ENFILE);
  CHECK(count_of(log.text.str(), "cannot accept nodes") == 2);
  // Fire the pending retry: a timer left in the test clock holds the
  // acceptor past the fixture's end (LeakSanitizer reports it).
  advance(accept_retry);
}

TEST_CASE("fd limit: max-clients that does not fit is said at start",
          "[acceptor][issue9]") {
  CHECK(fd_limit_warning(100, 20, 1024, 1024).empty());
  auto text = fd_limit_warning(10'000, 20, 1024, 4096);
  CHECK(text.find("max-clients=10000") != std::string::npos);
  CHECK(text.find("limit is 1024 (hard limit 4096)") != std::string::npos);
  CHECK(text.find("about 940 nodes fit") != std::string::npos);
  CHECK(fd_limit_warning(10, 20, 50, 50).find("about 0 nodes fit")
        != std::string::npos);
}

TEST_CASE("fd limit: the soft limit is raised to the hard one",
          "[acceptor][issue9]") {
  rlimit saved{};
  REQUIRE(::getrlimit(RLIMIT_NOFILE, &saved) == 0);
  if (saved.rlim_max < 64)
    return;
  rlimit low = saved;
  low.rlim_cur = saved.rlim_max / 2;
  REQUIRE(::setrlimit(RLIMIT_NOFILE, &low) == 0);
  auto result = raise_fd_limit();
  CHECK(result.error.empty());
  CHECK(result.soft_before == saved.rlim_max / 2);
  CHECK(result.soft == saved.rlim_max);
  rlimit now{};
  ::getrlimit(RLIMIT_NOFILE, &now);
  CHECK(now.rlim_cur == saved.rlim_max);
  ::setrlimit(RLIMIT_NOFILE, &saved);
  CHECK(open_descriptors() > 2);
}
