#pragma once

// `find`'s options turned into the filters of a find_request (pure, no
// CAF): sizes with k/M/G suffixes, times, types, digests.

#include <cstdint>
#include <string_view>

#include "protocol/messages.hpp"
#include "protocol/outcome.hpp"
#include "shell/command.hpp"

namespace dirscope::shell {

/// Fills `req`'s filters and flags from the options of `cmd` (everything
/// but id and path). `now_ns` is the server's clock for --mtime.
/// Options: --name GLOB, --path GLOB, --type f|d|l|o[,...],
/// --size [+|-]N[k|M|G], --newer TIME | --mtime [+|-]N[s|m|h|d|w],
/// --sha256 HEX, --max-depth N, --hash.
outcome<protocol::find_request> parse_find_options(const command& cmd,
                                                   int64_t now_ns);

/// "+10k" -> min 10241, "-1M" -> max 1048575, "7" -> exactly 7 (bytes;
/// k, M, G are powers of 1024).
outcome<protocol::find_request> parse_size_filter(std::string_view text,
                                                  protocol::find_request req);

/// A point in time: "@SECONDS" since the epoch, or
/// "YYYY-MM-DD[THH:MM[:SS]]" in the server's local time zone, or with a
/// trailing "Z" in UTC. Nanoseconds since the epoch.
outcome<int64_t> parse_time_point(std::string_view text);

} // namespace dirscope::shell
