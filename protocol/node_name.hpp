#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace dirscope::protocol {

/// Longest node name.
constexpr size_t max_node_name = 64;

/// Why `name` may not name a node, or nullopt if it may. A node name is 1-64
/// printable ASCII characters other than space, '/', ':' (it separates node
/// and path in `node:/path`) and '\' (it starts escapes); it must not be
/// all digits (the shell takes those as node ids, so a node could pass for
/// another), must not be "." or "..", and must not start with '-' (it would
/// read as an option). Both the client (at start) and the server (at the
/// hello) apply this one rule; the reason is meant for people and never
/// echoes the name.
std::optional<std::string> node_name_problem(std::string_view name);

/// True if `name` may name a node (node_name_problem() has nothing to say).
bool is_valid_node_name(std::string_view name) noexcept;

} // namespace dirscope::protocol
