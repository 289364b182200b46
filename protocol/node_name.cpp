#include "protocol/node_name.hpp"

#include <algorithm>

namespace dirscope::protocol {

bool is_valid_node_name(std::string_view name) noexcept {
  if (name.empty() || name.size() > max_node_name)
    return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return c > ' ' && c < 127 && c != '/' && c != ':' && c != '\\';
  });
}

} // namespace dirscope::protocol
