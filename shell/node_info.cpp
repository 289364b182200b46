#include "shell/node_info.hpp"

namespace dirscope {

std::string node_info::endpoint() const {
  auto port_str = std::to_string(port);
  if (address.find(':') != std::string::npos)
    return "[" + address + "]:" + port_str;
  return address + ":" + port_str;
}

} // namespace dirscope
