#pragma once

#include <chrono>

#include <caf/io/broker.hpp>

#include "actors/actors.hpp"
#include "actors/server/node_connection.hpp"
#include "actors/settings.hpp"

namespace dirscope {

/// How long the acceptor waits before it tries accept() again after the
/// process ran out of file descriptors.
constexpr auto accept_retry = std::chrono::milliseconds{500};

/// Accepts TCP connections on `doorman` and forks a node_connection for
/// each, announcing it to the supervisor. When the doorman reports
/// `(atom::wait, int errno)` (no descriptor left for a new connection; see
/// open_listener) it stops accepting, logs that once, and tries again every
/// accept_retry until a connection is accepted.
caf::behavior acceptor(caf::io::broker* self, caf::io::doorman_ptr doorman,
                       supervisor_actor supervisor, server_settings settings,
                       tls_context_ptr tls);

} // namespace dirscope
