#pragma once

// The web view served at / on the API port: one self-contained page (no
// asset from the internet) that talks to the API with the operator token.

namespace dirscope::api {

/// The page (HTML with its script and style inline).
extern const char* const web_page;

} // namespace dirscope::api
