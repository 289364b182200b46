#pragma once

// Configuration of both programs through CAF's config system: every option
// has a default, can be set in the INI file (--config-file) and on the
// command line (as --name=value or --name value).

#include <string>
#include <vector>

#include <caf/actor_system_config.hpp>
#include <caf/timespan.hpp>

#include "actors/settings.hpp"

namespace dirscope {

/// Options and setup shared by server and client.
class dirscope_config : public caf::actor_system_config {
public:
  dirscope_config();

  /// Parses the command line; for --help and --dump-config fills
  /// `help_text` instead (the main prints it on stdout and exits 0).
  /// Returns an error for unknown options or bad values.
  caf::error parse_args(int argc, char** argv);

  /// Non-empty after --help or --dump-config: what to print.
  std::string help_text;
  std::string log_file;
  std::string log_level = "info";

protected:
  /// Lines printed above the option list by --help.
  virtual std::string usage() const = 0;

  /// Checks the parsed values (ranges, zero durations) once the command
  /// line and INI file are read; the error names the option.
  virtual caf::error check() const = 0;

  caf::config_option_adder add_options();
};

class server_config : public dirscope_config {
public:
  server_config();

  server_settings settings() const;

  uint16_t port = 3443;
  std::string bind = "0.0.0.0";
  caf::timespan heartbeat_interval = std::chrono::seconds{10};
  size_t heartbeat_misses = 3;
  caf::timespan handshake_timeout = std::chrono::seconds{10};
  caf::timespan request_timeout = std::chrono::seconds{60};
  size_t max_frame = 1u << 20;
  size_t max_clients = 100;
  size_t max_in_flight = 64;
  /// Most nodes a fleet command (`ls all:/`) asks at once.
  size_t fleet_parallel = 64;
  size_t max_path = 4095;
  bool tls = true;
  std::string state_dir = "dirscope-state";
  /// Where `get` stores files: <download-dir>/<node>/<path>.
  std::string download_dir = "server_data";
  std::string cert_file;
  std::string key_file;
  std::string client_ca_file;
  bool require_client_cert = false;
  bool require_token = true;
  std::string enrollment_token;
  /// No console: run until SIGTERM/SIGINT, then tell nodes to reconnect.
  bool service = false;
  /// The operator API (HTTPS, API.md): on, and where it listens.
  bool api = true;
  std::string api_listen = "127.0.0.1:8443";
  /// A CA whose client certificates admit operators (their CN names
  /// them); empty: the operator token only.
  std::string api_client_ca;
  // Actions instead of serving:
  bool init = false;
  std::string issue_client_cert;

protected:
  std::string usage() const override;
  caf::error check() const override;
};

class client_config : public dirscope_config {
public:
  client_config();

  /// Checks the options and builds the settings (e.g. --server HOST:PORT,
  /// --root must be a directory).
  caf::expected<client_settings> settings() const;

  std::string server = "127.0.0.1:3443";
  std::string root;
  std::string name;
  bool reconnect = true;
  caf::timespan reconnect_min = std::chrono::seconds{1};
  caf::timespan reconnect_max = std::chrono::seconds{30};
  size_t workers = 0;
  size_t sort_limit = 100'000;
  bool tls = true;
  std::string ca_file;
  std::string server_fingerprint;
  std::string cert_file;
  std::string key_file;
  std::string token;
  std::string token_file;
  bool allow_download = false;
  bool allow_upload = false;
  bool allow_delete = false;

protected:
  std::string usage() const override;
  caf::error check() const override;
};

/// Fails unless `value` of option `name` lies in [min, max]; the message
/// says which values are allowed (e.g. "--heartbeat-interval must be
/// between 100ms and 1h, got 0s").
caf::error check_duration(const char* name, caf::timespan value,
                          caf::timespan min, caf::timespan max);

/// Fails unless `value` of option `name` lies in [min, max].
caf::error check_count(const char* name, uint64_t value, uint64_t min,
                       uint64_t max);

/// Rewrites "--name value" to "--name=value" for the long options in
/// `valued` (CAF only parses the latter), and "--name=" to "--name=\"\"".
std::vector<std::string> join_option_values(
  int argc, char** argv, const std::vector<std::string>& valued);

/// Splits "HOST:PORT" or "[V6]:PORT".
caf::expected<std::pair<std::string, uint16_t>>
parse_endpoint(const std::string& text);

} // namespace dirscope
