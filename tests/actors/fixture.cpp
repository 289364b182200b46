#include "tests/actors/fixture.hpp"

#include <cstdio>
#include <cstdlib>

#include <caf/atom.hpp>
#include <caf/exit_reason.hpp>
#include <caf/send.hpp>
#include <caf/typed_event_based_actor.hpp>
#include <caf/typed_response_promise.hpp>
#include <spdlog/spdlog.h>

namespace dirscope::test {

test_config::test_config() {
  set("scheduler.policy", caf::atom("testing"));
  load<caf::io::middleman>();
  set("middleman.network-backend", caf::atom("testing"));
  set("middleman.manual-multiplexing", true);
  set("middleman.workers", size_t{0});
  set("logger.console", caf::atom("none"));
  add_error_category(caf::atom("dirscope"), render_error);
}

wire_code code_of(const caf::error& err) {
  // An empty error has no category to ask for.
  if (!err)
    return wire_code::ok;
  if (err.category() != caf::atom("dirscope"))
    return wire_code::internal;
  return wire_code_from(err.code());
}

fixture::fixture()
  : sys(cfg),
    sched(dynamic_cast<caf::scheduler::test_coordinator&>(sys.scheduler())),
    mpx(dynamic_cast<caf::io::network::test_multiplexer&>(
      sys.middleman().backend())),
    saved_log_level_(spdlog::get_level()) {
  // The actors log every join, leave and request; DIRSCOPE_TEST_LOG=1 shows
  // it.
  if (std::getenv("DIRSCOPE_TEST_LOG") == nullptr)
    spdlog::set_level(spdlog::level::off);
  run();
}

fixture::~fixture() {
  for (auto& hdl : tracked_)
    caf::anon_send_exit(hdl, caf::exit_reason::user_shutdown);
  run();
  // Whatever ignored the polite exit (exit handlers) goes now.
  for (auto& hdl : tracked_)
    caf::anon_send_exit(hdl, caf::exit_reason::kill);
  run();
  tracked_.clear();
  spdlog::set_level(static_cast<spdlog::level::level_enum>(saved_log_level_));
  if (auto n = sys.registry().running(); n > 0)
    std::fprintf(stderr,
                 "fixture: %zu actor(s) still running: ~actor_system will "
                 "block\n",
                 n);
}

void fixture::run() {
  while (sched.try_run_once() || mpx.try_exec_runnable() || mpx.read_data())
    ; // nop
}

void fixture::advance(caf::timespan d) {
  sched.advance_time(d);
  run();
}

std::shared_ptr<down_record> fixture::watch_impl(caf::actor hdl) {
  auto rec = std::make_shared<down_record>();
  auto watcher = sys.spawn(
    [rec, hdl](caf::event_based_actor* self) -> caf::behavior {
      self->set_down_handler([self, rec](caf::down_msg& msg) {
        rec->down = true;
        rec->reason = msg.reason;
        self->quit();
      });
      self->monitor(hdl);
      return {[](int) {}};
    });
  track(watcher);
  return rec;
}

byte_buffer frame(const protocol::message& msg) {
  auto bytes = protocol::encode(msg).value();
  return byte_buffer(bytes.begin(), bytes.end());
}

std::vector<protocol::message> drain_frames(byte_buffer& buf) {
  protocol::frame_decoder decoder{protocol::absolute_max_frame};
  decoder.feed(reinterpret_cast<const uint8_t*>(buf.data()), buf.size());
  buf.clear();
  std::vector<protocol::message> result;
  for (;;) {
    auto next = decoder.next();
    if (auto err = std::get_if<failure>(&next))
      FAIL("server wrote an undecodable frame: " << err->message);
    auto msg = std::get_if<protocol::message>(&next);
    if (msg == nullptr)
      break;
    result.push_back(std::move(*msg));
  }
  CHECK(decoder.buffered() == 0);
  return result;
}

node_info make_info(std::string name, uint16_t port) {
  node_info result;
  result.name = std::move(name);
  result.hostname = "host-" + result.name;
  result.root = "/srv/" + result.name;
  result.address = "10.0.0.1";
  result.port = port;
  return result;
}

} // namespace dirscope::test

namespace dirscope::test {

namespace {

/// A request a silent fake node leaves pending until it is cancelled.
template <class... Ts>
caf::typed_response_promise<Ts...>
keep_pending(node_connection_actor::pointer self,
             const std::shared_ptr<fake_node_log>& log, uint64_t query) {
  auto promise = self->make_response_promise<Ts...>();
  log->pending.emplace(query, [promise](caf::error err) mutable {
    promise.deliver(std::move(err));
  });
  return promise;
}

caf::result<protocol::entry>
fake_stat(node_connection_actor::pointer self,
          const std::shared_ptr<fake_node_log>& log, uint64_t query,
          const std::string& path) {
  log->requests.push_back("stat " + path);
  if (log->silent)
    return keep_pending<protocol::entry>(self, log, query);
  if (path == "/")
    return dir_entry("/", log->dirs["/"].size());
  if (auto i = log->files.find(path); i != log->files.end())
    return i->second;
  if (auto i = log->dirs.find(path); i != log->dirs.end())
    return dir_entry(path.substr(path.rfind('/') + 1), i->second.size());
  return make_error(wire_code::not_found, "no such entry: " + path);
}

node_connection_actor::behavior_type
fake_node(node_connection_actor::pointer self,
          std::shared_ptr<fake_node_log> log) {
  return {
    [](atom::deadline) {},
    [](atom::tick) {},
    [self, log](atom::list, request_origin& origin, std::string& path, uint8_t,
                listing_sink_actor& sink) -> caf::result<uint64_t, bool> {
      auto query = log->record(origin);
      log->requests.push_back("ls " + path);
      if (log->silent)
        return keep_pending<uint64_t, bool>(self, log, query);
      auto i = log->dirs.find(path);
      if (i == log->dirs.end() && log->files.count(path) != 0)
        return make_error(wire_code::not_a_directory, "not a directory");
      if (i == log->dirs.end())
        return make_error(wire_code::not_found, "no such directory: " + path);
      if (!i->second.empty())
        self->send(sink, atom::chunk_v, query, i->second);
      return {uint64_t{i->second.size()}, true};
    },
    [log](atom::find, request_origin& origin, protocol::find_request& spec,
          find_sink_actor&) -> caf::result<uint64_t, uint64_t> {
      log->record(origin);
      // A node that predates find (no capability bit 8).
      log->requests.push_back("find " + spec.path);
      return make_error(wire_code::bad_request, "too old for find");
    },
    [log](atom::ack, uint64_t query) { log->acks.push_back(query); },
    [log](atom::cancel, uint64_t query) {
      log->cancels.push_back(query);
      if (auto i = log->pending.find(query); i != log->pending.end()) {
        auto fail = std::move(i->second);
        log->pending.erase(i);
        fail(make_error(wire_code::cancelled, "cancelled"));
      }
    },
    [self, log](atom::stat, request_origin& origin,
                std::string& path) -> caf::result<protocol::entry> {
      auto query = log->record(origin);
      return fake_stat(self, log, query, path);
    },
    [self, log](atom::stat, request_origin& origin, std::string& path,
                listing_sink_actor&) -> caf::result<protocol::entry> {
      auto query = log->record(origin);
      return fake_stat(self, log, query, path);
    },
    [self, log](atom::du, request_origin& origin,
                std::string& path) -> caf::result<protocol::du_reply> {
      auto query = log->record(origin);
      log->requests.push_back("du " + path);
      if (log->silent)
        return keep_pending<protocol::du_reply>(self, log, query);
      if (auto i = log->files.find(path); i != log->files.end())
        return protocol::du_reply{0, protocol::entry_type::file,
                                  i->second.size, 1, 0};
      if (auto i = log->dirs.find(path); i != log->dirs.end())
        return protocol::du_reply{0, protocol::entry_type::dir, 0,
                                  i->second.size(), 0};
      return make_error(wire_code::not_found, "no such entry: " + path);
    },
    [self, log](atom::remove, request_origin& origin, std::string& path,
                bool recursive) -> caf::result<uint64_t> {
      auto query = log->record(origin);
      log->requests.push_back((recursive ? "rm -r " : "rm ") + path);
      if (log->silent)
        return keep_pending<uint64_t>(self, log, query);
      return uint64_t{1};
    },
    [log](atom::get, request_origin& origin, std::string& path, uint64_t, uint8_t,
          transfer_sink_actor&)
      -> caf::result<uint64_t, protocol::sha256_digest> {
      log->record(origin);
      log->requests.push_back("get " + path);
      return make_error(wire_code::not_permitted,
                        "not permitted by node policy");
    },
    [log](atom::put, request_origin& origin, std::string& path, uint64_t, uint8_t,
          uint32_t, int64_t, upload_source_actor&) -> caf::result<uint64_t> {
      log->record(origin);
      log->requests.push_back("put " + path);
      return make_error(wire_code::not_permitted,
                        "not permitted by node policy");
    },
    [log](atom::notice, const std::string& operator_name, std::string& text) {
      log->operators.push_back(operator_name);
      log->requests.push_back("notice " + text);
    },
    [self, log](atom::goodbye, const caf::error& reason) {
      log->goodbyes.push_back(reason);
      if (log->leave_on_goodbye)
        self->quit();
    },
  };
}

} // namespace

node_connection_actor spawn_fake_node(caf::actor_system& sys,
                                      std::shared_ptr<fake_node_log> log) {
  return sys.spawn(fake_node, std::move(log));
}

protocol::entry file_entry(std::string name, uint64_t size) {
  protocol::entry result;
  result.name = std::move(name);
  result.type = protocol::entry_type::file;
  result.mtime_ns = 1'700'000'000'000'000'000;
  result.size = size;
  result.sha256 = protocol::sha256_digest{};
  result.sha256->fill(0xab);
  return result;
}

protocol::entry dir_entry(std::string name, uint64_t items) {
  protocol::entry result;
  result.name = std::move(name);
  result.type = protocol::entry_type::dir;
  result.mtime_ns = 1'700'000'000'000'000'000;
  result.size = 4096;
  result.items = items;
  return result;
}

} // namespace dirscope::test
