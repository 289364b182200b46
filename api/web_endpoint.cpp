#include "api/endpoints.hpp"

#include <string>

#include "api/http_reply.hpp"
#include "api/web_assets.hpp"
#include "protocol/names.hpp"

namespace dirscope::api {

/// No token needed: the files hold no data (the page asks for the token
/// and sends it with every API call).
void on_web_asset(api_context&, const httplib::Request& req,
                  httplib::Response& res) {
  auto asset = find_web_asset(req.path);
  if (asset == nullptr)
    return reply_error(res, 404, wire_code::not_found,
                       "no such page: " + protocol::escape_name(req.path));
  // Only our own scripts and styles, never framed by another site.
  res.set_header("Content-Security-Policy",
                 "default-src 'self'; frame-ancestors 'none'");
  res.set_header("X-Content-Type-Options", "nosniff");
  res.set_header("Referrer-Policy", "no-referrer");
  res.set_header("Cache-Control", "no-cache");
  res.set_content(std::string{asset->body},
                  std::string{web_content_type(asset->path)});
}

} // namespace dirscope::api
