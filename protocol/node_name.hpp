#pragma once

#include <string_view>

namespace dirscope::protocol {

/// Longest node name.
constexpr size_t max_node_name = 64;

/// True if `name` may name a node: 1-64 printable ASCII characters other
/// than space, '/', ':' (it separates node and path in `node:/path`) and
/// '\' (it starts escapes). Both the client (at start) and the server (at
/// the hello) apply this rule.
bool is_valid_node_name(std::string_view name) noexcept;

} // namespace dirscope::protocol
