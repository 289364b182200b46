// dirscope-client: reads configuration, opens the root, spawns the node
// agent and waits for it to finish.

#include <functional>
#include <iostream>

#include <unistd.h>

#include <caf/actor_system.hpp>
#include <caf/scoped_actor.hpp>
#include <spdlog/spdlog.h>

#include "actors/client/node_agent.hpp"
#include "actors/config.hpp"
#include "actors/error.hpp"
#include "actors/input_watcher.hpp"
#include "actors/logging.hpp"
#include "actors/memory_tuning.hpp"
#include "actors/security.hpp"
#include "actors/signal_pipe.hpp"
#include "node/confine.hpp"

using namespace dirscope;

int main(int argc, char** argv) {
  tune_malloc();
  client_config cfg;
  if (auto err = cfg.parse_args(argc, argv)) {
    std::cerr << "dirscope-client: " << to_failure(err).message << "\n";
    return 2;
  }
  if (!cfg.help_text.empty()) {
    std::cout << cfg.help_text;
    return 0;
  }
  if (cfg.cli_helptext_printed)
    return 0;
  auto settings = cfg.settings();
  if (!settings) {
    std::cerr << "dirscope-client: " << to_failure(settings.error()).message
              << "\n(try dirscope-client --help)\n";
    return 2;
  }
  if (auto ok = setup_logging("client", cfg.log_level, cfg.log_file); !ok) {
    std::cerr << "dirscope-client: " << ok.error().message << "\n";
    return 2;
  }
  auto root = node::open_root(settings->root);
  if (!root) {
    std::cerr << "dirscope-client: cannot serve " << settings->root << ": "
              << root.error().message << "\n";
    return 2;
  }
  auto root_fd = std::make_shared<const node::unique_fd>(std::move(*root));
  auto tls = prepare_client_tls(cfg, settings->server_host);
  if (!tls) {
    std::cerr << "dirscope-client: " << tls.error().message << "\n";
    return 2;
  }
  if (!*tls)
    spdlog::warn("TLS is off (--tls=false): traffic is plaintext");
  signal_pipe signals;
  caf::actor_system sys{cfg};
  spdlog::info("serving {} as '{}' to {}:{}", settings->root, settings->name,
               settings->server_host, settings->server_port);
  auto agent = sys.spawn(node_agent, *settings, root_fd, *tls);
  caf::error reason;
  {
    input_watcher watcher{signals, false};
    // Echo (seed 003): lines typed on a terminal go to the server, which
    // answers them reversed. Without a terminal stdin is ignored.
    std::function<void(std::string)> on_line;
    if (::isatty(STDIN_FILENO) == 1)
      on_line = [agent](std::string line) {
        caf::anon_send(agent, atom::echo_v, std::move(line));
      };
    watcher.start({std::move(on_line), {},
                   [agent](int) { caf::anon_send(agent, atom::shutdown_v); },
                   {}});
    caf::scoped_actor self{sys};
    self->monitor(agent);
    self->receive([&](const caf::down_msg& msg) { reason = msg.reason; });
  }
  if (reason && reason != caf::exit_reason::normal) {
    spdlog::error("stopped: {}", to_failure(reason).message);
    return 1;
  }
  spdlog::info("stopped");
  return 0;
}
