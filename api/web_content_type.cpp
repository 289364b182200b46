#include "api/web_assets.hpp"

namespace dirscope::api {

std::string_view web_content_type(std::string_view path) {
  auto ends = [path](std::string_view ext) {
    return path.size() >= ext.size()
           && path.substr(path.size() - ext.size()) == ext;
  };
  if (path == "/" || ends(".html"))
    return "text/html; charset=utf-8";
  if (ends(".js"))
    return "text/javascript; charset=utf-8";
  if (ends(".css"))
    return "text/css; charset=utf-8";
  if (ends(".svg"))
    return "image/svg+xml";
  if (ends(".png"))
    return "image/png";
  return "application/octet-stream";
}

} // namespace dirscope::api
