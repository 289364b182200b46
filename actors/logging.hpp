#pragma once

#include <string>

#include "protocol/outcome.hpp"

namespace dirscope {

/// Sends spdlog's default logger to stderr and, if `file` is not empty, to
/// that file as well. `level` is a spdlog level name ("info", "debug"...).
/// With `quiet_stderr` (an interactive shell) only warnings and errors go to
/// stderr; the file still gets everything from `level` up.
outcome<bool> setup_logging(const std::string& program,
                            const std::string& level, const std::string& file,
                            bool quiet_stderr = false);

} // namespace dirscope
