#pragma once

// Who is calling the API: an operator token or a client certificate admits
// a request, and names its operator for the log.

#include <string>

#include <httplib.h>

#include "api/api_server.hpp"

namespace dirscope::api {

/// The operator's name for the log: a verified certificate's CN, else
/// X-Dirscope-Operator, else "api"; escaped and cut to 64 characters.
std::string operator_of(const httplib::Request& req);

/// Whether `req` carries the operator token or, when `settings` name a
/// client CA, a certificate from it; else answers 401 and returns false.
bool authorized(const httplib::Request& req, httplib::Response& res,
                const api_settings& settings);

} // namespace dirscope::api
