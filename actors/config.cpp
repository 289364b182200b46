#include "actors/config.hpp"

#include <algorithm>
#include <climits>
#include <fstream>
#include <cstdlib>
#include <thread>

#include <caf/config_option_adder.hpp>
#include <caf/io/middleman.hpp>
#include <unistd.h>

#include "actors/error.hpp"
#include "protocol/names.hpp"
#include "protocol/node_name.hpp"
#include "shell/command.hpp"

namespace dirscope {

namespace {

/// The long options that take a value, from the option set itself.
std::vector<std::string> valued_options(const caf::config_option_set& xs) {
  std::vector<std::string> result;
  for (auto& opt : xs)
    if (!opt.is_flag())
      result.emplace_back(opt.long_name().data(), opt.long_name().size());
  return result;
}

bool wants_help(const std::vector<std::string>& args) {
  return std::any_of(args.begin(), args.end(), [](const std::string& x) {
    return x == "--help" || x == "-h" || x == "-?" || x == "--long-help";
  });
}

/// CAF's own options, described by dirscope itself: --long-help shows the
/// same as --help, --dump-config prints dirscope's options only.
bool is_caf_option(caf::string_view name) {
  return name == "help" || name == "long-help" || name == "dump-config"
         || name == "config-file";
}

/// The option list of --help: dirscope's options as CAF formats them,
/// after CAF's own options described as they behave here.
std::string option_list(const caf::config_option_set& xs) {
  caf::config_option_set ours;
  for (auto& opt : xs)
    if (!is_caf_option(opt.long_name()))
      ours.add(opt);
  auto text = ours.help_text(true);
  // CAF's heading ("global options:") says nothing to users.
  if (auto nl = text.find('\n'); nl != std::string::npos)
    text.erase(0, nl + 1);
  auto width = std::min<size_t>(text.find(" : "), 40);
  std::string result;
  auto line = [&](std::string left, const char* right) {
    left.resize(std::max(width, left.size()), ' ');
    result += left + " : " + right + "\n";
  };
  line("  (-h|--help)", "print this help on stdout and exit");
  line("  --config-file=<string>", "read options from this INI file");
  line("  --dump-config",
       "print the options in effect as an INI file and exit");
  return result + text;
}

/// `name=value` lines under [global]: a config file with the values in
/// effect (strings quoted, durations with their unit).
std::string dump_options(const caf::config_option_set& xs) {
  std::string result = "[global]\n";
  for (auto& opt : xs) {
    // CAF's stream and openssl options share the set under categories of
    // their own; dirscope's are all in "global".
    if (is_caf_option(opt.long_name()) || opt.long_name() == "config-file"
        || opt.category() != "global")
      continue;
    auto value = opt.get();
    if (!value)
      continue;
    result.append(opt.long_name().data(), opt.long_name().size());
    result += '=';
    result += caf::holds_alternative<std::string>(*value)
                ? "\"" + caf::get<std::string>(*value) + "\""
                : to_string(*value);
    result += '\n';
  }
  return result;
}

} // namespace

dirscope_config::dirscope_config() {
  load<caf::io::middleman>();
  add_error_category(caf::atom("dirscope"), render_error);
  // Nodes and the server talk raw TCP through brokers, never CAF's BASP.
  set("middleman.enable-automatic-connections", false);
  set("logger.console", caf::atom("none"));
}

caf::config_option_adder dirscope_config::add_options() {
  return caf::config_option_adder{custom_options_, "global"};
}

caf::error dirscope_config::parse_args(int argc, char** argv) {
  auto args = join_option_values(argc, argv, valued_options(custom_options_));
  // CAF 0.17 takes only a bare "--flag" for booleans; "--flag=false" is
  // what users type to turn a default-on switch off. Apply those after
  // parsing so the command line still wins over the INI file.
  std::vector<std::pair<const caf::config_option*, bool>> switches;
  for (auto i = args.begin(); i != args.end();) {
    const caf::config_option* flag = nullptr;
    bool value = false;
    for (auto& opt : custom_options_) {
      if (!opt.is_flag())
        continue;
      auto prefix = "--" + std::string{opt.long_name().data(),
                                       opt.long_name().size()}
                    + "=";
      if (i->compare(0, prefix.size(), prefix) != 0)
        continue;
      auto text = i->substr(prefix.size());
      if (text == "true" || text == "yes" || text == "1")
        value = true;
      else if (text == "false" || text == "no" || text == "0")
        value = false;
      else
        return make_error(wire_code::bad_request,
                          *i + ": expected true or false");
      flag = &opt;
    }
    if (flag == nullptr) {
      ++i;
      continue;
    }
    switches.emplace_back(flag, value);
    i = args.erase(i);
  }
  if (wants_help(args)) {
    help_text = usage()
                + "\nOptions (also settable in the INI file given by "
                  "--config-file, under [global]):\n"
                + option_list(custom_options_);
    return caf::none;
  }
  auto dump = std::find(args.begin(), args.end(), "--dump-config");
  auto wants_dump = dump != args.end();
  if (wants_dump)
    args.erase(dump);
  if (auto err = parse(std::move(args)))
    return err;
  for (auto& [opt, value] : switches)
    opt->store(caf::config_value{value});
  if (wants_dump)
    help_text = dump_options(custom_options_);
  return check();
}

caf::error check_duration(const char* name, caf::timespan value,
                          caf::timespan min, caf::timespan max) {
  if (value >= min && value <= max)
    return caf::none;
  auto shown = value < caf::timespan::zero()
                 ? "-" + shell::format_duration(-value)
                 : shell::format_duration(value);
  return make_error(wire_code::bad_request,
                    std::string{"--"} + name + " must be between "
                      + shell::format_duration(min) + " and "
                      + shell::format_duration(max) + ", got " + shown);
}

caf::error check_count(const char* name, uint64_t value, uint64_t min,
                       uint64_t max) {
  if (value >= min && value <= max)
    return caf::none;
  return make_error(wire_code::bad_request,
                    std::string{"--"} + name + " must be between "
                      + std::to_string(min) + " and " + std::to_string(max)
                      + ", got " + std::to_string(value));
}

std::vector<std::string>
join_option_values(int argc, char** argv,
                   const std::vector<std::string>& valued) {
  std::vector<std::string> result;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg.size() > 2 && arg.compare(0, 2, "--") == 0
        && arg.find('=') == std::string::npos && i + 1 < argc
        && std::find(valued.begin(), valued.end(), arg.substr(2))
             != valued.end()) {
      arg += '=';
      arg += argv[++i];
    }
    // CAF refuses "--name=" for an empty value; "--name=\"\"" says the same.
    if (arg.size() > 3 && arg.compare(0, 2, "--") == 0 && arg.back() == '=')
      arg += "\"\"";
    result.emplace_back(std::move(arg));
  }
  return result;
}

caf::expected<std::pair<std::string, uint16_t>>
parse_endpoint(const std::string& text) {
  auto bad = [&](const char* why) {
    return make_error(wire_code::bad_request,
                      "bad server address '" + text + "': " + why
                        + " (expected HOST:PORT)");
  };
  auto colon = text.rfind(':');
  if (colon == std::string::npos || colon == 0)
    return bad("missing port");
  auto host = text.substr(0, colon);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);
  auto port_text = text.substr(colon + 1);
  if (port_text.empty() || port_text.size() > 5
      || !std::all_of(port_text.begin(), port_text.end(), ::isdigit))
    return bad("port is not a number");
  auto port = std::stoul(port_text);
  if (port == 0 || port > 65535)
    return bad("port out of range");
  return std::make_pair(host, static_cast<uint16_t>(port));
}

// -- server -------------------------------------------------------------------

server_config::server_config() {
  add_options()
    .add(port, "port,p", "TCP port to listen on (default 3443)")
    .add(bind, "bind", "address to listen on (default 0.0.0.0; ::1 etc.)")
    .add(heartbeat_interval, "heartbeat-interval",
         "time between heartbeats to each node (default 10s)")
    .add(heartbeat_misses, "heartbeat-misses",
         "silent heartbeat intervals before a node counts as dead (3)")
    .add(handshake_timeout, "handshake-timeout",
         "time a new connection has to say hello (default 10s)")
    .add(request_timeout, "request-timeout",
         "time the shell waits for a node's answer (default 60s)")
    .add(max_frame, "max-frame", "largest frame accepted in bytes (1 MiB)")
    .add(max_clients, "max-clients", "most connected nodes (default 100)")
    .add(max_in_flight, "max-in-flight",
         "most requests in flight per node (default 64)")
    .add(fleet_parallel, "fleet-parallel",
         "most nodes a fleet command (ls all:/) asks at once (default 64)")
    .add(download_dir, "download-dir",
         "where get stores files: DIR/<node>/<path> (default server_data)")
    .add(max_path, "max-path",
         "longest path a request may name, in bytes (default 4095)")
    .add(tls, "tls", "TLS 1.3 on every connection (default true)")
    .add(state_dir, "state-dir",
         "where the CA, server certificate and enrollment token live "
         "(default dirscope-state)")
    .add(cert_file, "cert-file",
         "your own server certificate (PEM; default: one in --state-dir)")
    .add(key_file, "key-file", "private key of --cert-file (PEM)")
    .add(client_ca_file, "client-ca-file",
         "CA for client certificates (default: the state dir's CA)")
    .add(require_client_cert, "require-client-cert",
         "mutual TLS: nodes need a certificate from that CA (false)")
    .add(require_token, "require-token",
         "nodes must present the enrollment token (default true)")
    .add(enrollment_token, "enrollment-token",
         "the token (default: --state-dir/enrollment.token, created once)")
    .add(service, "service",
         "run as a service (systemd): no console, log to stderr and the "
         "log file; SIGTERM or SIGINT stops the server and tells every node "
         "to reconnect (goodbye restarting)")
    .add(api, "api",
         "the operator API over HTTPS for the dirscope command and scripts "
         "(default true; --api=false turns it off)")
    .add(api_listen, "api-listen",
         "where the operator API listens, HOST:PORT (127.0.0.1:8443)")
    .add(api_client_ca, "api-client-ca",
         "CA file whose client certificates admit operators to the API "
         "without the token (not the nodes' CA: a node's certificate must "
         "not make it an operator)")
    .add(init, "init",
         "create the state dir (CA, certificate, token), print the "
         "fingerprint and exit")
    .add(issue_client_cert, "issue-client-cert",
         "issue a client certificate NAME.crt/NAME.key into "
         "--state-dir/clients and exit")
    .add(log_file, "log-file",
         "also log to this file (default: dirscope-server.log)")
    .add(log_level, "log-level", "trace, debug, info, warn, error (info)");
  log_file = "dirscope-server.log";
  // Work sharing parks idle workers on a condition variable; work stealing
  // polls. With 2,000 idle nodes the server used 4.5 % of a core instead of
  // 23 % (bench/scheduler_bench.py, bench/RESULTS.md). The INI file or
  // --scheduler.policy=stealing still choose otherwise.
  set("scheduler.policy", caf::atom("sharing"));
}

std::string server_config::usage() const {
  return "dirscope-server: explore the directory trees of connected nodes.\n"
         "\n"
         "Usage: dirscope-server [--config-file=FILE] [--port N] "
         "[--bind ADDR] [options]\n"
         "\n"
         "Nodes (dirscope-client) connect to this server. Commands are read\n"
         "from standard input, typed at a terminal (type 'help' at the\n"
         "prompt) or piped in by a script, one per line. Results go to\n"
         "stdout; the error line of a failed command goes to stderr when\n"
         "the input is piped (to the terminal in an interactive shell); the\n"
         "log goes to stderr and the log file. The server runs until 'quit',\n"
         "end of input, SIGINT or SIGTERM, and then says goodbye to every\n"
         "node, which then stops.\n"
         "\n"
         "With --service there is no console: the server runs until SIGTERM\n"
         "or SIGINT and then tells every node it is restarting; nodes keep\n"
         "reconnecting (with backoff) until it is back.\n"
         "\n"
         "The operator API (HTTPS, API.md) serves the same commands to the\n"
         "dirscope command and scripts on 127.0.0.1:8443 (--api-listen,\n"
         "--api=false), for holders of --state-dir/operator.token.\n"
         "\n"
         "Exit status: 0 when all went well; 1 when a piped command failed\n"
         "or the server could not start; 2 for a bad command line or\n"
         "configuration.\n"
         "\n"
         "Connections use TLS 1.3. On first start the server creates a\n"
         "private CA, its certificate and an enrollment token in --state-dir\n"
         "and logs the certificate's fingerprint; nodes pin it with\n"
         "--server-fingerprint (or trust --state-dir/ca.crt) and present\n"
         "the token (--token-file). --init does just that and exits.\n";
}

caf::error server_config::check() const {
  using namespace std::chrono_literals;
  // Zero or negative durations would spin timers or drop every node at
  // once; beyond a day they are typos (and overflow clocks further on).
  if (auto err = check_duration("heartbeat-interval", heartbeat_interval,
                                100ms, 1h))
    return err;
  if (auto err = check_count("heartbeat-misses", heartbeat_misses, 1, 1000))
    return err;
  if (auto err = check_duration("handshake-timeout", handshake_timeout, 100ms,
                                1h))
    return err;
  if (auto err = check_duration("request-timeout", request_timeout, 100ms,
                                24h))
    return err;
  if (auto err = check_count("max-frame", max_frame, protocol::min_frame_limit,
                             protocol::absolute_max_frame))
    return err;
  if (auto err = check_count("max-clients", max_clients, 1, 100'000))
    return err;
  if (auto err = check_count("max-in-flight", max_in_flight, 1, 100'000))
    return err;
  if (auto err = check_count("fleet-parallel", fleet_parallel, 1, 100'000))
    return err;
  if (auto err = check_count("max-path", max_path, 1, 65535))
    return err;
  if (api) {
    if (auto where = parse_endpoint(api_listen); !where)
      return make_error(wire_code::bad_request,
                        "--api-listen: " + to_failure(where.error()).message);
  }
  return caf::none;
}

server_settings server_config::settings() const {
  using std::chrono::duration_cast;
  server_settings result;
  result.heartbeat_interval = duration_cast<milliseconds>(heartbeat_interval);
  result.heartbeat_misses = static_cast<uint32_t>(heartbeat_misses);
  result.handshake_timeout = duration_cast<milliseconds>(handshake_timeout);
  result.request_timeout = duration_cast<milliseconds>(request_timeout);
  result.max_frame = static_cast<uint32_t>(
    std::clamp<size_t>(max_frame, protocol::min_frame_limit,
                       protocol::absolute_max_frame));
  result.max_clients = max_clients;
  result.max_in_flight = std::max<size_t>(max_in_flight, 1);
  result.max_path = std::clamp<size_t>(max_path, 1, 65535);
  return result;
}

// -- client -------------------------------------------------------------------

client_config::client_config() {
  // Measured (bench/RESULTS.md, issue 10): work sharing lets idle workers
  // sleep instead of polling, which cost the node ~15 % of its CPU per
  // transfer under work stealing. --scheduler.policy overrides it.
  set("scheduler.policy", caf::atom("sharing"));
  add_options()
    .add(server, "server,s", "server address HOST:PORT (127.0.0.1:3443)")
    .add(root, "root,r", "directory this node exposes (required)")
    .add(name, "name,n", "node name shown on the server (default: hostname)")
    .add(reconnect, "reconnect",
         "retry with backoff when the connection fails (default true)")
    .add(reconnect_min, "reconnect-min", "first retry delay (default 1s)")
    .add(reconnect_max, "reconnect-max", "longest retry delay (default 30s)")
    .add(workers, "workers",
         "filesystem worker threads (default 0: one per core)")
    .add(sort_limit, "sort-limit",
         "list directories up to this many entries sorted (100000)")
    .add(tls, "tls", "TLS 1.3 to the server (default true)")
    .add(ca_file, "ca-file",
         "trust the server if its certificate chains to this CA (PEM)")
    .add(server_fingerprint, "server-fingerprint",
         "trust the server if its certificate has this SHA-256 fingerprint")
    .add(cert_file, "cert-file", "client certificate for mutual TLS (PEM)")
    .add(key_file, "key-file", "private key of --cert-file (PEM)")
    .add(token, "token", "enrollment token the server requires")
    .add(token_file, "token-file", "read the enrollment token from a file")
    .add(allow_download, "allow-download",
         "policy: the server may fetch files from this node (false)")
    .add(allow_upload, "allow-upload",
         "policy: the server may create files on this node (false)")
    .add(allow_delete, "allow-delete",
         "policy: the server may delete files on this node (false)")
    .add(log_file, "log-file", "also log to this file (default: none)")
    .add(log_level, "log-level", "trace, debug, info, warn, error (info)");
}

std::string client_config::usage() const {
  return "dirscope-client: expose one directory tree to a dirscope server.\n"
         "\n"
         "Usage: dirscope-client [--config-file=FILE] --server HOST:PORT "
         "--root DIR [--name NAME] [options]\n"
         "\n"
         "The node connects out to the server over TLS 1.3 (verified by\n"
         "--server-fingerprint or --ca-file), proves it may join with\n"
         "--token or --token-file, and answers requests (list, stat,\n"
         "hash) for files beneath DIR only, read-only. It runs\n"
         "until the server's operator kicks it or the server stops (exit 0)\n"
         "or it gets SIGINT/SIGTERM (goodbye, exit 0). A lost connection, or\n"
         "a server that timed it out (e.g. after a pause), is retried with\n"
         "jittered exponential backoff unless --reconnect=false (then it\n"
         "exits 1).\n";
}

caf::error client_config::check() const {
  using namespace std::chrono_literals;
  if (auto err = check_duration("reconnect-min", reconnect_min, 1ms, 1h))
    return err;
  if (auto err = check_duration("reconnect-max", reconnect_max, 1ms, 24h))
    return err;
  if (reconnect_max < reconnect_min)
    return make_error(wire_code::bad_request,
                      "--reconnect-max (" + shell::format_duration(reconnect_max)
                        + ") must not be shorter than --reconnect-min ("
                        + shell::format_duration(reconnect_min) + ")");
  if (auto err = check_count("workers", workers, 0, 1024))
    return err;
  return caf::none;
}

caf::expected<client_settings> client_config::settings() const {
  using std::chrono::duration_cast;
  client_settings result;
  auto endpoint = parse_endpoint(server);
  if (!endpoint)
    return endpoint.error();
  result.server_host = endpoint->first;
  result.server_port = endpoint->second;
  if (root.empty())
    return make_error(wire_code::bad_request,
                      "--root DIR is required (the directory to expose)");
  // Report the root as an absolute path: it is what the operator sees.
  char resolved[PATH_MAX];
  result.root = ::realpath(root.c_str(), resolved) != nullptr ? resolved : root;
  char host[256] = {0};
  if (gethostname(host, sizeof(host) - 1) != 0)
    std::snprintf(host, sizeof(host), "unknown");
  result.hostname = host;
  result.name = name.empty() ? result.hostname : name;
  if (auto why = protocol::node_name_problem(result.name))
    return make_error(wire_code::bad_request,
                      "invalid --name '" + protocol::escape_name(result.name)
                        + "': " + *why);
  result.reconnect = reconnect;
  result.reconnect_min = duration_cast<milliseconds>(reconnect_min);
  result.reconnect_max = std::max(result.reconnect_min,
                                  duration_cast<milliseconds>(reconnect_max));
  result.workers = workers != 0
                     ? workers
                     : std::max(1u, std::thread::hardware_concurrency());
  result.sort_limit = sort_limit;
  result.token = token;
  result.allow_download = allow_download;
  result.allow_upload = allow_upload;
  result.allow_delete = allow_delete;
  if (!token.empty() && !token_file.empty())
    return make_error(wire_code::bad_request,
                      "give --token or --token-file, not both");
  if (!token_file.empty()) {
    std::ifstream in{token_file};
    if (!in || !std::getline(in, result.token))
      return make_error(wire_code::bad_request,
                        "cannot read the token from " + token_file);
  }
  if (tls && ca_file.empty() && server_fingerprint.empty())
    return make_error(wire_code::bad_request,
                      "TLS needs a way to verify the server: give "
                      "--server-fingerprint (printed by the server) or "
                      "--ca-file (e.g. the server's state-dir/ca.crt); "
                      "--tls=false turns TLS off");
  return result;
}

} // namespace dirscope
