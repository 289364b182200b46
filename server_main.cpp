// dirscope-server: reads configuration, spawns the supervisor and the
// acceptor, then runs the console (or, with --service, waits for a signal).

#include <atomic>
#include <csignal>
#include <cstdlib>
#include <cstdio>
#include <memory>
#include <iostream>

#include <caf/actor_system.hpp>
#include <caf/io/middleman.hpp>
#include <caf/io/network/multiplexer.hpp>
#include <caf/scoped_actor.hpp>
#include <spdlog/spdlog.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "actors/config.hpp"
#include "actors/error.hpp"
#include "actors/input_watcher.hpp"
#include "actors/logging.hpp"
#include "actors/memory_tuning.hpp"
#include "actors/security.hpp"
#include "actors/server/console.hpp"
#include "actors/server/acceptor.hpp"
#include "actors/server/fd_limit.hpp"
#include "actors/server/listener.hpp"
#include "actors/server/node_connection.hpp"
#include "actors/server/supervisor.hpp"
#include "actors/signal_pipe.hpp"
#include "api/api_server.hpp"
#include "tls/pki.hpp"

using namespace dirscope;

namespace {

/// Service mode: no console. Waits for SIGTERM or SIGINT, then says
/// goodbye(restarting) to every node and returns once they are gone.
void serve_until_signal(caf::actor_system& sys, supervisor_actor supervisor,
                        signal_pipe& signals) {
  caf::scoped_actor self{sys};
  auto me = caf::actor_cast<caf::actor>(self);
  input_watcher watcher{signals, false};
  watcher.start({{}, {}, [me](int sig) {
                   caf::anon_send(me, atom::shutdown_v, sig);
                 }, {}});
  self->receive([](atom::shutdown, int sig) {
    spdlog::info("{}: stopping; nodes will reconnect",
                 sig == SIGTERM ? "SIGTERM" : "SIGINT");
  });
  watcher.stop();
  self->request(supervisor, caf::infinite, atom::restart_v)
    .receive([](uint64_t n) { spdlog::info("{} node(s) told to reconnect", n); },
             [](const caf::error& err) {
               spdlog::error("restart failed: {}", to_failure(err).message);
             });
}

/// The operator's shell on stdin (a terminal or a script) until quit, end of
/// input or a signal. Returns whether a piped command failed.
bool run_console(caf::actor_system& sys, supervisor_actor supervisor_hdl,
                 signal_pipe& signals, bool interactive,
                 const std::string& download_dir, size_t fleet_parallel) {
  auto write_to = [](FILE* stream) {
    return [stream](const std::string& text) {
      std::fwrite(text.data(), 1, text.size(), stream);
      std::fflush(stream);
    };
  };
  auto out = write_to(stdout);
  input_watcher input{signals, interactive};
  console_prompt prompt;
  if (interactive)
    prompt = [&input](const std::string& text) { input.show_prompt(text); };
  console_options options;
  options.download_dir = download_dir;
  options.fleet_parallel = fleet_parallel;
  if (interactive)
    options.async_out = [&input](const std::string& text) {
      input.print_above_prompt(text);
    };
  // Piped input: stdout holds results only, error lines go to stderr, and
  // the exit status says whether any command failed. An interactive shell
  // shows both on the terminal, in order.
  auto command_failed = std::make_shared<std::atomic<bool>>(false);
  if (!interactive) {
    options.err = write_to(stderr);
    options.failed = [command_failed](const failure&) {
      *command_failed = true;
    };
  }
  if (::isatty(STDOUT_FILENO) == 1) {
    // Asked per command: the terminal may have been resized.
    options.columns = [] {
      struct winsize ws {};
      if (::ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) != 0)
        return size_t{0};
      return static_cast<size_t>(ws.ws_col);
    };
    // https://no-color.org: any non-empty NO_COLOR turns colours off.
    auto no_color = std::getenv("NO_COLOR");
    options.color = no_color == nullptr || *no_color == '\0';
  }
  if (::isatty(STDERR_FILENO) == 1)
    options.progress = [](const std::string& line) {
      // One updating line on the terminal; nothing when stderr is piped.
      auto text = "\r\x1b[K" + line;
      std::fwrite(text.data(), 1, text.size(), stderr);
      std::fflush(stderr);
    };
  auto console_hdl = sys.spawn(console, supervisor_hdl, out, prompt,
                               std::move(options));
  input.start(
    {[console_hdl](std::string line) {
       caf::anon_send(console_hdl, atom::line_v, std::move(line));
     },
     [console_hdl] { caf::anon_send(console_hdl, atom::eof_v); },
     [console_hdl, interactive](int sig) {
       // Ctrl-C at a terminal cancels the running command; SIGTERM, or
       // SIGINT without a terminal (scripts), stops the server.
       if (interactive && sig == SIGINT)
         caf::anon_send(console_hdl, atom::cancel_v);
       else
         caf::anon_send(console_hdl, atom::shutdown_v);
     },
     [&sys, console_hdl](const std::string& before) {
       // Tab: the console asks the nodes; a little longer than it waits.
       std::vector<std::string> words;
       caf::scoped_actor self{sys};
       self->request(console_hdl, std::chrono::seconds(3), atom::complete_v,
                     before)
         .receive([&words](std::vector<std::string>& xs) { words.swap(xs); },
                  [](caf::error&) {});
       return words;
     }});
  {
    caf::scoped_actor self{sys};
    self->monitor(console_hdl);
    self->receive([](const caf::down_msg&) {});
  }
  input.stop();
  return *command_failed;
}

} // namespace

int main(int argc, char** argv) {
  tune_malloc();
  server_config cfg;
  if (auto err = cfg.parse_args(argc, argv)) {
    std::cerr << "dirscope-server: " << to_failure(err).message << "\n";
    return 2;
  }
  if (!cfg.help_text.empty()) {
    std::cout << cfg.help_text;
    return 0;
  }
  if (cfg.cli_helptext_printed)
    return 0;
  auto interactive = !cfg.service && ::isatty(STDIN_FILENO) == 1;
  if (auto ok = setup_logging("server", cfg.log_level, cfg.log_file,
                              interactive);
      !ok) {
    std::cerr << "dirscope-server: " << ok.error().message << "\n";
    return 2;
  }
  if (!cfg.issue_client_cert.empty()) {
    auto done = issue_client_certificate(cfg);
    if (!done) {
      std::cerr << "dirscope-server: " << done.error().message << "\n";
      return 1;
    }
    std::cout << *done;
    return 0;
  }
  auto security = prepare_server_security(cfg);
  if (!security) {
    spdlog::error("cannot set up TLS and enrollment: {}",
                  security.error().message);
    return 1;
  }
  if (security->created)
    spdlog::warn("created a private CA, a server certificate and an "
                 "enrollment token in {}",
                 cfg.state_dir);
  if (security->tls)
    spdlog::info("TLS 1.3 on; certificate fingerprint (SHA-256) {}",
                 security->fingerprint);
  else
    spdlog::warn("TLS is off (--tls=false): traffic is plaintext");
  if (!security->token_file.empty())
    spdlog::info("nodes must present the enrollment token in {}",
                 security->token_file);
  else if (security->token.empty())
    spdlog::warn("no enrollment token required (--require-token=false)");
  // The operator API's token, apart from the nodes' enrollment token.
  std::string operator_token;
  auto operator_token_file = cfg.state_dir + "/operator.token";
  if (cfg.api && security->tls) {
    auto token = tls::ensure_token(cfg.state_dir, "operator.token");
    if (!token) {
      spdlog::error("cannot set up the operator token: {}",
                    token.error().message);
      return 1;
    }
    operator_token = std::move(*token);
  }
  if (cfg.init) {
    std::cout << "state dir: " << cfg.state_dir << "\n"
              << "fingerprint: " << security->fingerprint << "\n"
              << "ca file: " << security->ca_file << "\n"
              << "token file: " << security->token_file << "\n";
    if (!operator_token.empty())
      std::cout << "operator token file: " << operator_token_file << "\n";
    return 0;
  }
  auto fds = raise_fd_limit();
  if (!fds.error.empty())
    spdlog::warn("cannot raise the file descriptor limit from {} to {}: {}",
                 fds.soft, fds.hard, fds.error);
  else if (fds.soft != fds.soft_before)
    spdlog::info("file descriptor limit raised from {} to {}",
                 fds.soft_before, fds.soft);
  if (auto text = fd_limit_warning(cfg.max_clients, open_descriptors(),
                                   fds.soft, fds.hard);
      !text.empty())
    spdlog::warn("{}", text);
  signal_pipe signals;
  caf::actor_system sys{cfg};
  auto settings = cfg.settings();
  settings.enrollment_token = security->token;
  auto supervisor_hdl = sys.spawn(supervisor, settings);
  auto& mm = sys.middleman();
  auto doorman = open_listener(mm.backend(), cfg.port, cfg.bind.c_str(),
                               true);
  if (!doorman) {
    spdlog::error("cannot listen on {}:{}: {}", cfg.bind, cfg.port,
                  to_failure(doorman.error()).message);
    caf::anon_send_exit(supervisor_hdl, caf::exit_reason::user_shutdown);
    return 1;
  }
  auto port = (*doorman)->port();
  auto acceptor_hdl = mm.spawn_broker(acceptor, std::move(*doorman),
                                      supervisor_hdl, settings,
                                      security->tls);
  spdlog::info("dirscope-server listening on {}:{} (protocol {})", cfg.bind,
               port, protocol::version);
  if (interactive) {
    // The log reaches a terminal from warnings up only: say here what the
    // operator needs to connect nodes.
    std::cerr << "dirscope-server listening on " << cfg.bind << ":" << port
              << "\n";
    if (security->tls)
      std::cerr << "TLS 1.3, certificate fingerprint (SHA-256) "
                << security->fingerprint << "\n";
    if (!security->token_file.empty())
      std::cerr << "nodes present the enrollment token in "
                << security->token_file << "\n";
    std::cerr << "type 'help' for the commands\n";
  }
  std::unique_ptr<api::api_server> api_srv;
  if (cfg.api && !security->tls) {
    spdlog::warn("the operator API is off: it needs TLS (--tls=false)");
  } else if (cfg.api) {
    api::api_settings api_cfg;
    auto where = parse_endpoint(cfg.api_listen); // checked by the config
    api_cfg.host = where->first;
    api_cfg.port = where->second;
    api_cfg.cert_file = security->cert_file;
    api_cfg.key_file = security->key_file;
    api_cfg.token = operator_token;
    api_cfg.client_ca_file = cfg.api_client_ca;
    api_srv = std::make_unique<api::api_server>(sys, supervisor_hdl, api_cfg);
    if (auto api_port = api_srv->start(); !api_port) {
      // The nodes' port is the server's job; the API is an extra.
      spdlog::error("the operator API is off: {}", api_port.error().message);
      if (interactive)
        std::cerr << "operator API off: " << api_port.error().message << "\n";
    } else {
      auto url = "https://" + (where->first.find(':') != std::string::npos
                                 ? "[" + where->first + "]"
                                 : where->first)
                 + ":" + std::to_string(*api_port);
      spdlog::info("operator API on {} (token in {})", url,
                   operator_token_file);
      if (interactive)
        std::cerr << "operator API on " << url << " (token in "
                  << operator_token_file << ")\n";
    }
  }
  auto failed = false;
  if (cfg.service)
    serve_until_signal(sys, supervisor_hdl, signals);
  else
    failed = run_console(sys, supervisor_hdl, signals, interactive,
                         cfg.download_dir, cfg.fleet_parallel);
  if (api_srv)
    api_srv->stop();
  caf::anon_send_exit(acceptor_hdl, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(supervisor_hdl, caf::exit_reason::user_shutdown);
  spdlog::info("dirscope-server stopped");
  return failed ? 1 : 0;
}
