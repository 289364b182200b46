// The signal pipe: what one poll round of signals amounts to.

#include <catch2/catch.hpp>

#include <csignal>

#include "actors/signal_pipe.hpp"

using namespace dirscope;

TEST_CASE("signal pipe: SIGTERM wins over a later SIGINT", "[signals]") {
  signal_pipe signals;
  CHECK(signals.drain() == 0);
  std::raise(SIGTERM);
  std::raise(SIGINT);
  CHECK(signals.drain() == SIGTERM);
  CHECK(signals.drain() == 0);
  std::raise(SIGINT);
  std::raise(SIGTERM);
  std::raise(SIGINT);
  CHECK(signals.drain() == SIGTERM);
}

TEST_CASE("signal pipe: SIGINTs alone stay one SIGINT", "[signals]") {
  signal_pipe signals;
  std::raise(SIGINT);
  std::raise(SIGINT);
  CHECK(signals.drain() == SIGINT);
  CHECK(signals.drain() == 0);
}

TEST_CASE("signal pipe: stronger_signal", "[signals]") {
  CHECK(stronger_signal(0, 0) == 0);
  CHECK(stronger_signal(0, SIGINT) == SIGINT);
  CHECK(stronger_signal(SIGINT, 0) == SIGINT);
  CHECK(stronger_signal(SIGTERM, SIGINT) == SIGTERM);
  CHECK(stronger_signal(SIGINT, SIGTERM) == SIGTERM);
}
