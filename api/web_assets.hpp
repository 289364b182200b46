#pragma once

#include <string_view>

namespace dirscope::api {

/// One file of the web view (web/), built into the server.
struct web_asset {
  std::string_view path; ///< e.g. "/app.js"
  std::string_view body;
};

/// The asset served at `path` ("/" is index.html), or null.
const web_asset* find_web_asset(std::string_view path);

/// The Content-Type of an asset, from its extension.
std::string_view web_content_type(std::string_view path);

} // namespace dirscope::api
