#pragma once

// A deterministic actor system for Catch2: CAF's test coordinator (one
// thread, virtual clock) and the io test multiplexer (brokers without
// sockets). See STACK-NOTES.md, "Deterministic tests under Catch2".

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include <catch2/catch.hpp>

#include <caf/actor_cast.hpp>
#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/io/middleman.hpp>
#include <caf/io/network/test_multiplexer.hpp>
#include <caf/scheduler/test_coordinator.hpp>

#include "actors/actors.hpp"
#include "actors/error.hpp"
#include "protocol/codec.hpp"

namespace Catch {

template <>
struct StringMaker<dirscope::wire_code> {
  static std::string convert(dirscope::wire_code x) {
    return std::string{dirscope::to_string(x)};
  }
};

template <>
struct StringMaker<caf::error> {
  static std::string convert(const caf::error& x) {
    return caf::to_string(x);
  }
};

} // namespace Catch

namespace dirscope::test {

using namespace std::chrono_literals;

/// Testing scheduler, testing network backend, dirscope's error category.
struct test_config : caf::actor_system_config {
  test_config();
};

/// The outcome of one request made through fixture::request.
template <class... Rs>
struct reply {
  std::optional<std::tuple<Rs...>> value;
  caf::error error;

  bool done() const {
    return value.has_value() || static_cast<bool>(error);
  }

  template <size_t I = 0>
  const auto& get() const {
    return std::get<I>(*value);
  }
};

/// How a watched actor ended.
struct down_record {
  bool down = false;
  caf::error reason;
};

/// The wire code of `err` if it is one of dirscope's errors, `ok` if it is
/// empty, `internal` otherwise (use to_string(err) in a failing check to see
/// more).
wire_code code_of(const caf::error& err);

class fixture {
public:
  fixture();

  /// Stops every tracked actor and runs until idle: ~actor_system blocks
  /// forever while an actor lives.
  ~fixture();

  test_config cfg;
  caf::actor_system sys;
  caf::scheduler::test_coordinator& sched;
  caf::io::network::test_multiplexer& mpx;

  /// Runs scheduled actors, brokers and pending reads until nothing is left.
  void run();

  /// Advances the virtual clock (firing due timers), then runs.
  void advance(caf::timespan d);

  /// Remembers `hdl` for the exit at teardown; returns it.
  template <class Handle>
  Handle track(Handle hdl) {
    tracked_.push_back(caf::actor_cast<caf::actor>(hdl));
    return hdl;
  }

  /// Sends a request with `caf::infinite` timeout from a fresh probe actor
  /// and records the reply or error in the result once run() delivers it.
  template <class... Rs, class Handle, class... Ts>
  std::shared_ptr<reply<Rs...>> request(const Handle& dest, Ts... xs) {
    auto result = std::make_shared<reply<Rs...>>();
    auto probe = sys.spawn([result, dest, xs...](caf::event_based_actor* self) {
      self->request(dest, caf::infinite, xs...)
        .then([result](Rs&... ys) { result->value.emplace(std::move(ys)...); },
              [result](caf::error& err) { result->error = std::move(err); });
    });
    track(probe);
    return result;
  }

  /// Monitors `hdl`; the record says when and why it terminated.
  template <class Handle>
  std::shared_ptr<down_record> watch(const Handle& hdl) {
    return watch_impl(caf::actor_cast<caf::actor>(hdl));
  }

  /// The actor behind `hdl` as `Ptr` (e.g. x_actor::stateful_pointer<S>),
  /// to look at its state. Safe: only one thread runs actors here.
  template <class Ptr, class Handle>
  Ptr deref(const Handle& hdl) {
    auto ptr = dynamic_cast<Ptr>(caf::actor_cast<caf::abstract_actor*>(hdl));
    REQUIRE(ptr != nullptr);
    return ptr;
  }

private:
  std::shared_ptr<down_record> watch_impl(caf::actor hdl);

  int saved_log_level_;

  std::vector<caf::actor> tracked_;
};

// -- wire helpers -------------------------------------------------------------

using byte_buffer = caf::io::network::test_multiplexer::buffer_type;

/// The complete frame of `msg` as the multiplexer's buffer type.
byte_buffer frame(const protocol::message& msg);

/// Decodes every frame in `buf` and clears it. Fails the test on trailing
/// bytes or undecodable frames.
std::vector<protocol::message> drain_frames(byte_buffer& buf);

/// The messages of kind T in `xs`.
template <class T>
std::vector<T> only(const std::vector<protocol::message>& xs) {
  std::vector<T> result;
  for (auto& x : xs)
    if (auto ptr = std::get_if<T>(&x))
      result.push_back(*ptr);
  return result;
}

/// A node_info as a node connection would hand it to the supervisor.
node_info make_info(std::string name, uint16_t port = 50000);

// -- a fake node connection ---------------------------------------------------

/// What a fake node connection received and how it answers.
struct fake_node_log {
  /// Reasons of every goodbye received.
  std::vector<caf::error> goodbyes;
  /// Quit (normally) on goodbye, like the real connection; false simulates a
  /// node that does not go away.
  bool leave_on_goodbye = true;
  /// Paths listed and stat'ed, in order.
  std::vector<std::string> requests;
  /// Queries acked by the sink.
  std::vector<uint64_t> acks;
  /// Queries cancelled.
  std::vector<uint64_t> cancels;
  /// Directory contents by path (one chunk each); listing a path only in
  /// `files` fails with not_a_directory, others with not_found. A symlink
  /// to a directory is in both.
  std::map<std::string, std::vector<protocol::entry>> dirs;
  /// Entries by path for stat; others fail not_found.
  std::map<std::string, protocol::entry> files;
  /// Answer no request at all (they stay pending until cancelled).
  bool silent = false;
  /// Pending requests of a silent node by query: a cancel fails them with
  /// cancelled, as the real connection does.
  std::map<uint64_t, std::function<void(caf::error)>> pending;
  /// The operator named by each request, in order.
  std::vector<std::string> operators;
  /// Notes who asked; returns the request's query id.
  uint64_t record(const request_origin& origin) {
    operators.push_back(origin.operator_name);
    return origin.query;
  }
};

/// Spawns (non-detached) an actor speaking node_connection_actor's interface
/// that records what it gets in `log`.
node_connection_actor spawn_fake_node(caf::actor_system& sys,
                                      std::shared_ptr<fake_node_log> log);

/// A file entry for fake directories.
protocol::entry file_entry(std::string name, uint64_t size = 42);

/// A directory entry for fake directories.
protocol::entry dir_entry(std::string name, uint64_t items = 0);

} // namespace dirscope::test
