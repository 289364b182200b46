#pragma once

#include <string>

#include <caf/error.hpp>

#include "actors/type_ids.hpp"
#include "protocol/outcome.hpp"

namespace dirscope {

/// Makes a caf::error in dirscope's category.
caf::error make_error(wire_code code, std::string message);

/// Carries a pure failure into the actor world.
caf::error to_error(const failure& x);

/// Turns any caf::error (ours or CAF's own, e.g. request_timeout) into a
/// failure with a message for people.
failure to_failure(const caf::error& x);

/// to_failure for a failed connect, with the reason of the connect() call
/// (`sys_errno`, read right after it), which CAF's error does not carry:
/// "cannot connect to 127.0.0.1:9: connection refused".
failure connect_failure(const caf::error& x, int sys_errno);

/// Renders dirscope's error category for actor_system::render.
std::string render_error(uint8_t code, caf::atom_value category,
                         const caf::message& context);

} // namespace dirscope
