#include "protocol/node_name.hpp"

#include <algorithm>

namespace dirscope::protocol {

namespace {

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

bool allowed(char c) {
  return c > ' ' && c < 127 && c != '/' && c != ':' && c != '\\';
}

} // namespace

std::optional<std::string> node_name_problem(std::string_view name) {
  if (name.empty())
    return "a node name must not be empty";
  if (name.size() > max_node_name)
    return "a node name has at most " + std::to_string(max_node_name)
           + " characters (got " + std::to_string(name.size()) + ")";
  if (!std::all_of(name.begin(), name.end(), allowed))
    return "a node name holds only printable ASCII characters other than "
           "space, '/', ':' and '\\'";
  if (std::all_of(name.begin(), name.end(), is_digit))
    return "a node name must not be all digits (the shell takes digits as a "
           "node id)";
  if (name == "." || name == "..")
    return "a node name must not be '.' or '..'";
  if (name.front() == '-')
    return "a node name must not start with '-' (it would read as an option)";
  return std::nullopt;
}

bool is_valid_node_name(std::string_view name) noexcept {
  try {
    return !node_name_problem(name).has_value();
  } catch (...) {
    return false; // std::bad_alloc building the reason
  }
}

} // namespace dirscope::protocol
