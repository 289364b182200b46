#pragma once

// Path rules. A node path is always relative to the node's root and written
// in normalized form: "/" for the root, else "/a/b" with no empty, "." or
// ".." components and no trailing slash. Components are raw bytes except
// NUL and '/'.

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "protocol/outcome.hpp"

namespace dirscope::protocol {

/// Longest normalized path a peer may send (bytes).
constexpr size_t default_max_path = 4095;

/// Resolves what a user typed (`arg`, absolute or relative to `cwd`) to a
/// normalized node path. ".." at the root stays at the root. Fails with
/// bad_request on NUL bytes or when the result exceeds `max_path`.
outcome<std::string> resolve_path(std::string_view cwd, std::string_view arg,
                                  size_t max_path = default_max_path);

/// Checks a path received from the wire and splits it into components
/// (empty for the root). Never normalizes: anything not already normalized
/// is refused with bad_request, anything with ".." with outside_root.
outcome<std::vector<std::string>>
split_node_path(std::string_view path, size_t max_path = default_max_path);

/// Joins `dir` (normalized) and a single entry name.
std::string join_path(std::string_view dir, std::string_view name);

/// Returns the parent of a normalized path ("/" for "/" itself).
std::string parent_path(std::string_view path);

/// Returns true if `name` is acceptable as one directory entry name:
/// non-empty, not "." or "..", no '/' and no NUL.
bool is_valid_entry_name(std::string_view name) noexcept;

} // namespace dirscope::protocol
