#pragma once

// The operator API (API.md): HTTPS with TLS 1.3 on its own threads
// (cpp-httplib), a bearer token, and one console actor per request or
// session, whose output streams to the client as it is written.

#include <cstdint>
#include <memory>
#include <string>

#include <caf/fwd.hpp>

#include "actors/actors.hpp"
#include "protocol/outcome.hpp"

namespace dirscope::api {

/// Where and how the API serves.
struct api_settings {
  std::string host = "127.0.0.1";
  uint16_t port = 8443; ///< 0: any free port
  /// The server's certificate and key (PEM): clients verify them with the
  /// state dir's CA, like nodes do.
  std::string cert_file;
  std::string key_file;
  /// The operator token (state dir's operator.token); never logged.
  std::string token;
  /// A client certificate from this CA (PEM) also admits an operator,
  /// named by its CN; empty: tokens only.
  std::string client_ca_file;
};

/// The running API. stop() (or the destructor) ends every request and
/// session; call it before the actor system goes away.
class api_server {
public:
  api_server(caf::actor_system& sys, supervisor_actor supervisor,
             api_settings settings);
  ~api_server();

  api_server(const api_server&) = delete;
  api_server& operator=(const api_server&) = delete;

  /// Binds and starts serving; returns the port it listens on.
  outcome<uint16_t> start();

  void stop();

private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

} // namespace dirscope::api
