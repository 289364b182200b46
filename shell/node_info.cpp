#include "shell/node_info.hpp"

#include "protocol/messages.hpp"

namespace dirscope {

std::string node_info::endpoint() const {
  auto port_str = std::to_string(port);
  if (address.find(':') != std::string::npos)
    return "[" + address + "]:" + port_str;
  return address + ":" + port_str;
}

std::string node_info::policy() const {
  std::string result;
  auto add = [&](uint32_t bit, const char* what) {
    if ((capabilities & bit) == 0)
      return;
    if (!result.empty())
      result += ',';
    result += what;
  };
  add(protocol::capability::download, "download");
  add(protocol::capability::upload, "upload");
  add(protocol::capability::remove, "delete");
  return result.empty() ? "read-only" : result;
}

} // namespace dirscope
