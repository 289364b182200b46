#pragma once

#include <caf/io/broker.hpp>

#include "actors/actors.hpp"
#include "actors/server/node_connection.hpp"
#include "actors/settings.hpp"

namespace dirscope {

/// Accepts TCP connections on `doorman` and forks a node_connection for
/// each, announcing it to the supervisor.
caf::behavior acceptor(caf::io::broker* self, caf::io::doorman_ptr doorman,
                       supervisor_actor supervisor, server_settings settings,
                       tls_context_ptr tls);

} // namespace dirscope
