// dirscope-swarm: one process that plays many dirscope nodes against a real
// server, for fleet benchmarks (bench/scale_bench.py, `make bench-scale`).
//
// Each simulated node speaks protocol v1 like dirscope-client: TLS 1.3 with
// the server verified by CA or pinned fingerprint, hello with the enrollment
// token, heartbeats acked, list, stat and find answered from a small fixed
// tree, and after any lost connection a reconnect with jittered exponential
// backoff. Framing and TLS are the project's own (protocol/codec,
// tls/session); the rest is one thread, one epoll loop and non-blocking
// sockets. First connections are paced (--connect-rate, --max-joining), so
// admission measures the server, not a stampede of the swarm's own making;
// nodes that were in and lost their connection come back as their own
// backoff says, like a real fleet after a server restart (a storm; cap it
// with --rejoin-max-joining). A node that has no welcome --join-timeout
// (30 s, as a real node) after connect() gives up and backs off.
//
// Output (stdout, one line each): a status line whenever the counters
// changed (at most every --report seconds), and "swarm: all N welcomed at
// T s" each time the last missing node is welcomed. SIGINT or SIGTERM says
// goodbye(client_exit) to the server from every node and exits 0.

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <deque>
#include <fstream>
#include <map>
#include <memory>
#include <queue>
#include <random>
#include <string>
#include <vector>

#include <fcntl.h>
#include <fnmatch.h>
#include <netdb.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/ssl.h>

#include "protocol/codec.hpp"
#include "tls/context.hpp"
#include "tls/session.hpp"

using namespace dirscope;
using clock_type = std::chrono::steady_clock;
using std::chrono::milliseconds;

namespace {

// -- options ------------------------------------------------------------------

struct options {
  std::string host = "127.0.0.1";
  std::string port = "3443";
  size_t count = 100;
  size_t first = 1;
  std::string prefix = "swarm-";
  bool tls = true;
  std::string ca_file;
  std::string fingerprint;
  std::string server_name;
  std::string token;
  double connect_rate = 500;
  size_t max_joining = 64;
  /// Limit for nodes that were welcomed before (0: none), i.e. a fleet
  /// coming back after a server restart: real nodes do not queue politely.
  size_t rejoin_max_joining = 0;
  milliseconds reconnect_min{1'000};
  milliseconds reconnect_max{30'000};
  /// From connect() to the welcome, as long as a real node waits (three
  /// default heartbeat intervals).
  milliseconds join_timeout{30'000};
  uint32_t heartbeat_misses = 3;
  double report_seconds = 1.0;
};

constexpr const char* usage =
  "usage: dirscope-swarm --server HOST:PORT [--count N] [--first K]\n"
  "         [--prefix swarm-] (--ca-file F | --server-fingerprint FP)\n"
  "         [--server-name NAME] [--token T | --token-file F] [--tls=false]\n"
  "         [--connect-rate PER_S] [--max-joining N]\n"
  "         [--rejoin-max-joining N] [--join-timeout MS] [--reconnect-min MS]\n"
  "         [--reconnect-max MS] [--report SECONDS]\n"
  "Plays N dirscope nodes named PREFIX00001.. against one server.\n";

[[noreturn]] void die(const std::string& what) {
  std::fprintf(stderr, "dirscope-swarm: %s\n", what.c_str());
  std::exit(2);
}

options parse_options(int argc, char** argv) {
  options opts;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    std::string value;
    if (auto eq = arg.find('='); eq != std::string::npos) {
      value = arg.substr(eq + 1);
      arg.resize(eq);
    } else if (arg != "--help" && i + 1 < argc) {
      value = argv[++i];
    }
    auto number = [&] {
      try {
        return std::stod(value);
      } catch (...) {
        die(arg + " needs a number, got '" + value + "'");
      }
    };
    if (arg == "--help") {
      std::fputs(usage, stdout);
      std::exit(0);
    } else if (arg == "--server") {
      auto colon = value.rfind(':');
      if (colon == std::string::npos)
        die("--server needs HOST:PORT");
      opts.host = value.substr(0, colon);
      opts.port = value.substr(colon + 1);
      if (opts.host.size() > 2 && opts.host.front() == '[')
        opts.host = opts.host.substr(1, opts.host.size() - 2);
    } else if (arg == "--count") {
      opts.count = static_cast<size_t>(number());
    } else if (arg == "--first") {
      opts.first = static_cast<size_t>(number());
    } else if (arg == "--prefix") {
      opts.prefix = value;
    } else if (arg == "--tls") {
      opts.tls = value != "false" && value != "no" && value != "0";
    } else if (arg == "--ca-file") {
      opts.ca_file = value;
    } else if (arg == "--server-fingerprint") {
      opts.fingerprint = value;
    } else if (arg == "--server-name") {
      opts.server_name = value;
    } else if (arg == "--token") {
      opts.token = value;
    } else if (arg == "--token-file") {
      std::ifstream in{value};
      if (!in || !std::getline(in, opts.token))
        die("cannot read the token from " + value);
    } else if (arg == "--connect-rate") {
      opts.connect_rate = std::max(1.0, number());
    } else if (arg == "--max-joining") {
      opts.max_joining = std::max<size_t>(1, static_cast<size_t>(number()));
    } else if (arg == "--rejoin-max-joining") {
      opts.rejoin_max_joining = static_cast<size_t>(number());
    } else if (arg == "--join-timeout") {
      opts.join_timeout = milliseconds{std::max(1L, static_cast<long>(number()))};
    } else if (arg == "--reconnect-min") {
      opts.reconnect_min = milliseconds{std::max(1L, static_cast<long>(number()))};
    } else if (arg == "--reconnect-max") {
      opts.reconnect_max = milliseconds{std::max(1L, static_cast<long>(number()))};
    } else if (arg == "--report") {
      opts.report_seconds = number();
    } else {
      std::fputs(usage, stderr);
      die("unknown option " + arg);
    }
  }
  opts.reconnect_max = std::max(opts.reconnect_max, opts.reconnect_min);
  if (opts.server_name.empty())
    opts.server_name = opts.host;
  if (opts.tls && opts.ca_file.empty() && opts.fingerprint.empty())
    die("TLS needs --ca-file or --server-fingerprint (or --tls=false)");
  return opts;
}

// -- the fixed tree every simulated node serves -------------------------------

protocol::entry make_entry(std::string name, protocol::entry_type type,
                           uint64_t size) {
  protocol::entry x;
  x.name = std::move(name);
  x.type = type;
  x.mtime_ns = 1'700'000'000'000'000'000;
  x.size = size;
  if (type == protocol::entry_type::dir)
    x.items = 0;
  return x;
}

const std::vector<protocol::entry>& root_listing() {
  static const std::vector<protocol::entry> xs{
    make_entry("README", protocol::entry_type::file, 1'024),
    make_entry("data.bin", protocol::entry_type::file, 1u << 20),
    make_entry("logs", protocol::entry_type::dir, 4'096),
  };
  return xs;
}

/// What `find` walks: the fixed tree plus /etc with three files (name,
/// relative path to the root), in walk order.
const std::vector<std::pair<std::string, protocol::entry>>& find_tree() {
  static const std::vector<std::pair<std::string, protocol::entry>> xs{
    {"README", make_entry("README", protocol::entry_type::file, 1'024)},
    {"data.bin", make_entry("data.bin", protocol::entry_type::file, 1u << 20)},
    {"etc", make_entry("etc", protocol::entry_type::dir, 4'096)},
    {"etc/group", make_entry("group", protocol::entry_type::file, 512)},
    {"etc/hosts", make_entry("hosts", protocol::entry_type::file, 256)},
    {"etc/passwd", make_entry("passwd", protocol::entry_type::file, 2'048)},
    {"logs", make_entry("logs", protocol::entry_type::dir, 4'096)},
  };
  return xs;
}

/// A find over find_tree(): --name and --type only (enough for the fleet
/// benchmark), the whole answer in one chunk.
void answer_find(const protocol::find_request& x,
                 std::vector<protocol::message>& out) {
  using namespace protocol;
  std::string prefix = x.path == "/" ? "" : x.path.substr(1) + "/";
  if (x.path != "/" && x.path != "/etc") {
    out.emplace_back(request_failed{x.id, wire_code::not_found,
                                    "no such file or directory"});
    return;
  }
  find_chunk chunk{x.id, {}};
  uint64_t visited = 0;
  for (auto& [rel, e] : find_tree()) {
    if (rel.compare(0, prefix.size(), prefix) != 0)
      continue;
    ++visited;
    if (x.name_glob && ::fnmatch(x.name_glob->c_str(), e.name.c_str(), 0) != 0)
      continue;
    auto bit = e.type == entry_type::dir ? find_types::dir : find_types::file;
    if (x.types != 0 && (x.types & bit) == 0)
      continue;
    find_match m;
    m.item = e;
    m.item.name = rel.substr(prefix.size());
    chunk.matches.push_back(std::move(m));
  }
  auto matched = chunk.matches.size();
  if (matched > 0)
    out.emplace_back(std::move(chunk));
  out.emplace_back(find_end{x.id, matched, visited});
}

/// The reply to a request: list, stat and find from the fixed tree,
/// everything else refused as a node with that policy would.
std::vector<protocol::message> answer(const protocol::message& msg) {
  using namespace protocol;
  std::vector<message> out;
  auto failed = [&](uint32_t id, wire_code code, std::string why) {
    out.emplace_back(request_failed{id, code, std::move(why)});
  };
  if (auto x = std::get_if<list_request>(&msg)) {
    if (x->path == "/") {
      out.emplace_back(entries_chunk{x->id, root_listing()});
      out.emplace_back(list_end{x->id, root_listing().size(), true});
    } else if (x->path == "/logs") {
      out.emplace_back(list_end{x->id, 0, true});
    } else if (x->path == "/README" || x->path == "/data.bin") {
      failed(x->id, wire_code::not_a_directory, "not a directory");
    } else {
      failed(x->id, wire_code::not_found, "no such file or directory");
    }
  } else if (auto x = std::get_if<stat_request>(&msg)) {
    if (x->path == "/") {
      auto root = make_entry("/", entry_type::dir, 4'096);
      root.items = root_listing().size();
      out.emplace_back(stat_reply{x->id, std::move(root)});
      return out;
    }
    for (auto& e : root_listing())
      if (x->path == "/" + e.name) {
        out.emplace_back(stat_reply{x->id, e});
        return out;
      }
    failed(x->id, wire_code::not_found, "no such file or directory");
  } else if (auto x = std::get_if<find_request>(&msg)) {
    answer_find(*x, out);
  } else if (auto x = std::get_if<du_request>(&msg)) {
    failed(x->id, wire_code::io_error, "not supported by dirscope-swarm");
  } else if (auto x = std::get_if<remove_request>(&msg)) {
    failed(x->id, wire_code::not_permitted, "not permitted by node policy");
  } else if (auto x = std::get_if<download_request>(&msg)) {
    failed(x->id, wire_code::not_permitted, "not permitted by node policy");
  } else if (auto x = std::get_if<upload_request>(&msg)) {
    failed(x->id, wire_code::not_permitted, "not permitted by node policy");
  }
  return out;
}

// -- simulated nodes ----------------------------------------------------------

enum class phase : uint8_t {
  idle,     ///< waiting for its backoff or in the connect queue
  joining,  ///< TCP connect, TLS handshake, hello sent: no welcome yet
  serving,  ///< welcomed
};

struct node {
  uint32_t index = 0;
  /// Tells events and timers of an earlier connection from this one.
  uint32_t generation = 0;
  phase stage = phase::idle;
  bool connected = false; ///< the TCP connect completed
  int fd = -1;
  std::string name;
  std::unique_ptr<tls::session> session;
  protocol::frame_decoder decoder;
  /// Ciphertext (or plaintext frames without TLS) not yet written.
  std::vector<uint8_t> out;
  uint32_t peer_max_frame = protocol::min_frame_limit;
  milliseconds heartbeat{10'000};
  clock_type::time_point since;   ///< last frame received, or connect start
  milliseconds backoff{0};
  bool welcomed_before = false;
};

/// What happened, for the status line.
struct counters {
  size_t joins = 0;          ///< welcomes received
  size_t refused = 0;        ///< nothing listens (server down, restarting)
  size_t connect_failed = 0; ///< TCP connect failed otherwise or timed out
  size_t tls_failed = 0;     ///< TLS handshake failed
  size_t rejected = 0;       ///< reject frames
  size_t lost = 0;           ///< connection ended while serving
  size_t server_goodbyes = 0;
  size_t silent = 0;         ///< server silent past the heartbeat misses
  size_t protocol_errors = 0;
  size_t requests = 0;
  std::map<std::string, size_t> reasons; ///< goodbye/reject codes seen

  bool operator==(const counters& o) const {
    return joins == o.joins && refused == o.refused
           && connect_failed == o.connect_failed
           && tls_failed == o.tls_failed && rejected == o.rejected
           && lost == o.lost && requests == o.requests;
  }
};

volatile std::sig_atomic_t stop_requested = 0;

extern "C" void on_stop_signal(int) {
  stop_requested = 1;
}

class swarm {
public:
  explicit swarm(options opts) : opts_(std::move(opts)), rng_(std::random_device{}()) {
    resolve();
    if (opts_.tls) {
      tls::client_trust trust{opts_.ca_file, opts_.fingerprint,
                              opts_.server_name, "", ""};
      auto ctx = tls::context::make_client(trust);
      if (!ctx)
        die("TLS: " + ctx.error().message);
      ctx_ = std::move(*ctx);
      // Thousands of idle sessions: keep no record buffers while idle.
      SSL_CTX_set_mode(ctx_->native(), SSL_MODE_RELEASE_BUFFERS);
    }
    epfd_ = ::epoll_create1(EPOLL_CLOEXEC);
    if (epfd_ < 0)
      die(std::string{"epoll_create1: "} + std::strerror(errno));
    nodes_.resize(opts_.count);
    char buf[32];
    for (size_t i = 0; i < opts_.count; ++i) {
      std::snprintf(buf, sizeof(buf), "%05zu", opts_.first + i);
      nodes_[i].index = static_cast<uint32_t>(i);
      nodes_[i].name = opts_.prefix + buf;
      first_queue_.push_back(static_cast<uint32_t>(i));
    }
  }

  /// Runs until SIGINT or SIGTERM.
  void run() {
    start_ = clock_type::now();
    last_refill_ = start_;
    std::printf("swarm: %zu nodes to %s:%s (%s), connect rate %.0f/s\n",
                opts_.count, opts_.host.c_str(), opts_.port.c_str(),
                opts_.tls ? "TLS 1.3" : "plain TCP", opts_.connect_rate);
    std::fflush(stdout);
    std::vector<epoll_event> events(1024);
    auto next_sweep = start_;
    auto next_report = start_;
    while (!stop_requested) {
      auto now = clock_type::now();
      fire_timers(now);
      admit(now);
      if (now >= next_sweep) {
        sweep(now);
        next_sweep = now + milliseconds{500};
      }
      if (opts_.report_seconds > 0 && now >= next_report) {
        report(false);
        next_report = now + std::chrono::duration_cast<clock_type::duration>(
                              std::chrono::duration<double>{
                                opts_.report_seconds});
      }
      int n = ::epoll_wait(epfd_, events.data(),
                           static_cast<int>(events.size()), wait_ms(now));
      if (n < 0 && errno != EINTR)
        die(std::string{"epoll_wait: "} + std::strerror(errno));
      for (int i = 0; i < n; ++i)
        on_event(events[i].data.u64, events[i].events);
    }
    for (auto& n : nodes_)
      if (n.stage == phase::serving) {
        send(n, protocol::goodbye{wire_code::client_exit, "swarm stopping"});
        flush(n);
      }
    report(true);
  }

private:
  // -- connecting ------------------------------------------------------------

  void resolve() {
    addrinfo hints{};
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* res = nullptr;
    if (int rc = ::getaddrinfo(opts_.host.c_str(), opts_.port.c_str(), &hints,
                               &res);
        rc != 0)
      die("cannot resolve " + opts_.host + ": " + ::gai_strerror(rc));
    std::memcpy(&addr_, res->ai_addr, res->ai_addrlen);
    addr_len_ = res->ai_addrlen;
    family_ = res->ai_family;
    ::freeaddrinfo(res);
  }

  /// Starts queued connections: first joins as the pace and --max-joining
  /// allow, nodes coming back as their own backoff says (within
  /// --rejoin-max-joining, if given).
  void admit(clock_type::time_point now) {
    std::chrono::duration<double> dt = now - last_refill_;
    last_refill_ = now;
    tokens_ = std::min(tokens_ + dt.count() * opts_.connect_rate,
                       std::max(1.0, opts_.connect_rate / 20));
    auto rejoin_limit = opts_.rejoin_max_joining == 0
                          ? nodes_.size()
                          : opts_.rejoin_max_joining;
    while (!again_queue_.empty() && joining_ < rejoin_limit) {
      auto i = again_queue_.front();
      again_queue_.pop_front();
      start_connect(nodes_[i], now);
    }
    while (!first_queue_.empty() && tokens_ >= 1.0
           && joining_ < opts_.max_joining) {
      auto i = first_queue_.front();
      first_queue_.pop_front();
      tokens_ -= 1.0;
      start_connect(nodes_[i], now);
    }
  }

  void start_connect(node& n, clock_type::time_point now) {
    n.fd = ::socket(family_, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (n.fd < 0) {
      ++count_.connect_failed;
      note("socket", errno);
      return retry_later(n);
    }
    n.stage = phase::joining;
    n.connected = false;
    n.since = now;
    ++joining_;
    if (::connect(n.fd, reinterpret_cast<sockaddr*>(&addr_), addr_len_) != 0
        && errno != EINPROGRESS) {
      connect_failed(errno);
      return drop(n);
    }
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLET;
    ev.data.u64 = (uint64_t{n.generation} << 32) | n.index;
    if (::epoll_ctl(epfd_, EPOLL_CTL_ADD, n.fd, &ev) != 0)
      die(std::string{"epoll_ctl: "} + std::strerror(errno));
    n.decoder = protocol::frame_decoder{protocol::default_max_frame};
    if (ctx_) {
      auto s = tls::session::make(ctx_);
      if (!s)
        die("TLS session: " + s.error().message);
      n.session = std::move(*s);
      n.session->drain(n.out); // ClientHello
    }
    namespace cap = protocol::capability;
    // With TLS the hello waits in the session until the server is verified.
    send(n, protocol::hello{protocol::version, n.name, "swarm", "/swarm",
                            cap::list | cap::stat | cap::find, opts_.token});
  }

  /// Ends the connection of `n` and schedules its next attempt.
  void drop(node& n) {
    if (n.fd >= 0)
      ::close(n.fd); // also leaves the epoll set
    n.fd = -1;
    if (n.stage == phase::joining)
      --joining_;
    else if (n.stage == phase::serving)
      --welcomed_;
    n.stage = phase::idle;
    n.session.reset();
    n.out.clear();
    n.out.shrink_to_fit();
    n.decoder = protocol::frame_decoder{protocol::default_max_frame};
    ++n.generation;
    retry_later(n);
  }

  /// Jittered exponential backoff: the wait doubles from --reconnect-min up
  /// to --reconnect-max and each attempt waits a random time between half
  /// of it and all of it, so that a fleet cut off at once does not come
  /// back at once.
  void retry_later(node& n) {
    n.backoff = n.backoff.count() == 0
                  ? opts_.reconnect_min
                  : std::min(n.backoff * 2, opts_.reconnect_max);
    std::uniform_int_distribution<long> jitter{n.backoff.count() / 2,
                                               n.backoff.count()};
    auto due = clock_type::now() + milliseconds{jitter(rng_)};
    timers_.push({due, (uint64_t{n.generation} << 32) | n.index});
  }

  void fire_timers(clock_type::time_point now) {
    while (!timers_.empty() && timers_.top().first <= now) {
      auto key = timers_.top().second;
      timers_.pop();
      auto& n = nodes_[key & 0xffff'ffff];
      if ((key >> 32) == n.generation && n.stage == phase::idle)
        (n.welcomed_before ? again_queue_ : first_queue_).push_back(n.index);
    }
  }

  /// Gives up on connections that take too long and on servers that went
  /// silent (a paused or vanished server).
  void sweep(clock_type::time_point now) {
    for (auto& n : nodes_) {
      if (n.stage == phase::joining && now - n.since > opts_.join_timeout) {
        ++count_.connect_failed;
        count_.reasons["join timeout"]++;
        drop(n);
      } else if (n.stage == phase::serving
                 && now - n.since > n.heartbeat * opts_.heartbeat_misses) {
        ++count_.silent;
        send(n, protocol::goodbye{wire_code::timeout, "server silent"});
        flush(n);
        drop(n);
      }
    }
  }

  int wait_ms(clock_type::time_point now) const {
    auto until = now + milliseconds{100};
    if (!timers_.empty())
      until = std::min(until, timers_.top().first);
    if (!first_queue_.empty() && joining_ < opts_.max_joining)
      until = std::min(until,
                       now + std::chrono::duration_cast<clock_type::duration>(
                               std::chrono::duration<double>{
                                 (1.0 - tokens_) / opts_.connect_rate}));
    auto ms = std::chrono::duration_cast<milliseconds>(until - now).count();
    return static_cast<int>(std::max<long>(ms, first_queue_.empty() ? 0 : 1));
  }

  // -- I/O -------------------------------------------------------------------

  void on_event(uint64_t key, uint32_t events) {
    auto& n = nodes_[key & 0xffff'ffff];
    if ((key >> 32) != n.generation || n.fd < 0)
      return; // an event of a connection already dropped
    if (!n.connected) {
      int err = 0;
      socklen_t len = sizeof(err);
      ::getsockopt(n.fd, SOL_SOCKET, SO_ERROR, &err, &len);
      if (err != 0) {
        connect_failed(err);
        return drop(n);
      }
      if (!(events & (EPOLLOUT | EPOLLIN)))
        return;
      n.connected = true;
    }
    if (events & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR))
      if (!receive(n))
        return;
    flush(n);
  }

  /// Reads everything available; false if the node was dropped.
  bool receive(node& n) {
    uint8_t buf[16 * 1024];
    std::vector<uint8_t> plain;
    for (;;) {
      auto got = ::read(n.fd, buf, sizeof(buf));
      if (got < 0 && errno == EINTR)
        continue;
      if (got < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
        return true;
      if (got <= 0) {
        lost(n, got == 0 ? "closed by the server" : std::strerror(errno));
        return false;
      }
      plain.clear();
      if (n.session) {
        auto ok = n.session->feed(buf, static_cast<size_t>(got), plain);
        n.session->drain(n.out);
        if (!ok) {
          ++count_.tls_failed;
          count_.reasons["tls: " + ok.error().message]++;
          flush(n);
          drop(n);
          return false;
        }
      } else {
        plain.assign(buf, buf + got);
      }
      n.decoder.feed(plain.data(), plain.size());
      for (;;) {
        auto next = n.decoder.next();
        if (std::holds_alternative<std::monostate>(next))
          break;
        if (auto err = std::get_if<failure>(&next)) {
          violation(n, err->message);
          return false;
        }
        n.since = clock_type::now();
        if (!on_message(n, std::get<protocol::message>(next)))
          return false;
      }
    }
  }

  void lost(node& n, const std::string& why) {
    if (n.stage == phase::serving)
      ++count_.lost;
    else {
      ++count_.connect_failed;
      count_.reasons["lost while joining: " + why]++;
    }
    drop(n);
  }

  /// Handles one frame; false if the node was dropped.
  bool on_message(node& n, const protocol::message& msg) {
    using namespace protocol;
    if (n.stage == phase::joining) {
      if (auto x = std::get_if<welcome>(&msg)) {
        n.stage = phase::serving;
        --joining_;
        ++welcomed_;
        ++count_.joins;
        n.backoff = milliseconds{0};
        n.welcomed_before = true;
        n.peer_max_frame = std::min(x->max_frame, absolute_max_frame);
        if (x->heartbeat_ms > 0)
          n.heartbeat = milliseconds{x->heartbeat_ms};
        if (welcomed_ == nodes_.size()) {
          std::chrono::duration<double> t = clock_type::now() - start_;
          std::printf("swarm: all %zu welcomed at %.3f s\n", nodes_.size(),
                      t.count());
          std::fflush(stdout);
        }
        return true;
      }
      if (auto x = std::get_if<reject>(&msg)) {
        ++count_.rejected;
        count_.reasons[std::string{"reject "} + std::string{to_string(x->code)}]++;
        drop(n);
        return false;
      }
      if (auto x = std::get_if<goodbye>(&msg)) {
        ++count_.server_goodbyes;
        count_.reasons[std::string{"goodbye "} + std::string{to_string(x->code)}]++;
        drop(n);
        return false;
      }
      violation(n, std::string{"expected welcome, got "} + name_of(msg));
      return false;
    }
    if (auto x = std::get_if<heartbeat>(&msg)) {
      send(n, heartbeat_ack{x->seq});
    } else if (auto x = std::get_if<goodbye>(&msg)) {
      // Whatever the reason (shutdown, kicked, timeout): a swarm node comes
      // back, so a restarted server sees its whole fleet return.
      ++count_.server_goodbyes;
      ++count_.lost;
      count_.reasons[std::string{"goodbye "} + std::string{to_string(x->code)}]++;
      drop(n);
      return false;
    } else if (std::holds_alternative<chunk_ack>(msg)
               || std::holds_alternative<cancel>(msg)
               || std::holds_alternative<notice>(msg)
               || std::holds_alternative<echo_reply>(msg)
               || std::holds_alternative<data_chunk>(msg)
               || std::holds_alternative<upload_end>(msg)) {
      // Requests are answered at once: nothing to ack, cancel or receive.
    } else {
      auto replies = answer(msg);
      if (replies.empty()) {
        violation(n, std::string{"unexpected "} + name_of(msg));
        return false;
      }
      ++count_.requests;
      for (auto& reply : replies)
        send(n, reply);
    }
    return true;
  }

  void violation(node& n, const std::string& what) {
    ++count_.protocol_errors;
    count_.reasons["protocol error: " + what]++;
    send(n, protocol::goodbye{wire_code::protocol_error, what});
    flush(n);
    drop(n);
  }

  void send(node& n, const protocol::message& msg) {
    if (!n.session) {
      (void) protocol::encode(msg, n.out, n.peer_max_frame);
      return;
    }
    std::vector<uint8_t> frame;
    if (!protocol::encode(msg, frame, n.peer_max_frame))
      return;
    (void) n.session->write(frame.data(), frame.size());
    n.session->drain(n.out);
  }

  /// Writes what the socket takes; the rest waits for EPOLLOUT.
  void flush(node& n) {
    if (!n.connected || n.fd < 0)
      return;
    size_t done = 0;
    while (done < n.out.size()) {
      auto put = ::write(n.fd, n.out.data() + done, n.out.size() - done);
      if (put < 0 && errno == EINTR)
        continue;
      if (put <= 0)
        break; // EAGAIN: EPOLLOUT comes; errors show up as EPOLLERR
      done += static_cast<size_t>(put);
    }
    n.out.erase(n.out.begin(), n.out.begin() + static_cast<long>(done));
    if (n.out.empty() && n.out.capacity() > 4096)
      n.out.shrink_to_fit();
  }

  // -- reporting -------------------------------------------------------------

  void connect_failed(int err) {
    if (err == ECONNREFUSED)
      ++count_.refused;
    else
      ++count_.connect_failed;
    note("connect", err);
  }

  void note(const char* what, int err) {
    count_.reasons[std::string{what} + ": " + std::strerror(err)]++;
  }

  void report(bool final) {
    if (!final && count_ == reported_ && welcomed_ == reported_welcomed_)
      return;
    reported_ = count_;
    reported_welcomed_ = welcomed_;
    std::chrono::duration<double> t = clock_type::now() - start_;
    std::printf("swarm: t=%.1f welcomed=%zu/%zu joining=%zu waiting=%zu "
                "joins=%zu lost=%zu refused=%zu connect_failed=%zu tls_failed=%zu "
                "rejected=%zu silent=%zu protocol_errors=%zu requests=%zu\n",
                t.count(), welcomed_, nodes_.size(), joining_,
                nodes_.size() - welcomed_ - joining_, count_.joins,
                count_.lost, count_.refused, count_.connect_failed,
                count_.tls_failed,
                count_.rejected, count_.silent, count_.protocol_errors,
                count_.requests);
    if (final)
      for (auto& [why, times] : count_.reasons)
        std::printf("swarm: %zu x %s\n", times, why.c_str());
    std::fflush(stdout);
  }

  options opts_;
  std::mt19937 rng_;
  std::shared_ptr<tls::context> ctx_;
  int epfd_ = -1;
  sockaddr_storage addr_{};
  socklen_t addr_len_ = 0;
  int family_ = AF_INET;
  std::vector<node> nodes_;
  /// Nodes waiting for their first connection (paced by admit()).
  std::deque<uint32_t> first_queue_;
  /// Nodes welcomed before, due to reconnect.
  std::deque<uint32_t> again_queue_;
  using timer = std::pair<clock_type::time_point, uint64_t>;
  std::priority_queue<timer, std::vector<timer>, std::greater<>> timers_;
  double tokens_ = 1.0;
  clock_type::time_point start_;
  clock_type::time_point last_refill_;
  size_t joining_ = 0;
  size_t welcomed_ = 0;
  counters count_;
  counters reported_;
  size_t reported_welcomed_ = ~size_t{0};
};

/// Raises the soft descriptor limit to the hard one: one socket per node.
void raise_fd_limit(size_t needed) {
  rlimit lim{};
  if (::getrlimit(RLIMIT_NOFILE, &lim) != 0)
    return;
  lim.rlim_cur = lim.rlim_max;
  ::setrlimit(RLIMIT_NOFILE, &lim);
  if (lim.rlim_cur != RLIM_INFINITY && needed + 16 > lim.rlim_cur)
    die("--count " + std::to_string(needed) + " needs more descriptors than "
        "the hard limit allows (" + std::to_string(lim.rlim_cur) + ")");
}

} // namespace

int main(int argc, char** argv) {
  auto opts = parse_options(argc, argv);
  raise_fd_limit(opts.count);
  std::signal(SIGPIPE, SIG_IGN);
  struct sigaction sa {};
  sa.sa_handler = on_stop_signal;
  ::sigaction(SIGINT, &sa, nullptr);
  ::sigaction(SIGTERM, &sa, nullptr);
  swarm{std::move(opts)}.run();
  return 0;
}
