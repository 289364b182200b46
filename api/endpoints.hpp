#pragma once

// Every endpoint of the operator API (API.md), one function each; the
// route table in api_server.cpp maps paths to them.

#include <httplib.h>

#include "actors/actors.hpp"
#include "api/api_server.hpp"
#include "api/sessions.hpp"

namespace dirscope::api {

/// What every endpoint works with.
struct api_context {
  caf::actor_system& sys;
  supervisor_actor supervisor;
  api_settings settings;
  registry_ptr reg = std::make_shared<registry>();
};

/// An endpoint that reads no streamed body (all but PUT).
using endpoint = void (*)(api_context&, const httplib::Request&,
                          httplib::Response&);

// -- commands (run_endpoint.cpp) ----------------------------------------------

/// POST /api/v1/run: one command, alone or in a session; its output
/// streams as it is written.
void on_run(api_context& ctx, const httplib::Request& req,
            httplib::Response& res);

// -- sessions (session_endpoints.cpp) -----------------------------------------

/// POST /api/v1/session: opens a `dirscope shell` session.
void on_new_session(api_context& ctx, const httplib::Request& req,
                    httplib::Response& res);

/// DELETE /api/v1/session/ID: ends it.
void on_end_session(api_context& ctx, const httplib::Request& req,
                    httplib::Response& res);

/// POST /api/v1/session/ID/complete: Tab in `dirscope shell`.
void on_complete(api_context& ctx, const httplib::Request& req,
                 httplib::Response& res);

// -- the fleet (node_endpoints.cpp) -------------------------------------------

/// GET /api/v1/nodes: the node table.
void on_nodes(api_context& ctx, const httplib::Request& req,
              httplib::Response& res);

/// GET /api/v1/events: the table, then its changes (server-sent events).
void on_events(api_context& ctx, const httplib::Request& req,
               httplib::Response& res);

// -- files (file_endpoints.cpp) -----------------------------------------------

/// GET /api/v1/file?node=&path=: downloads a node's file.
void on_file(api_context& ctx, const httplib::Request& req,
             httplib::Response& res);

/// PUT /api/v1/file?node=&path=: uploads the body as a new file.
void on_put(api_context& ctx, const httplib::Request& req,
            httplib::Response& res, const httplib::ContentReader& reader);

// -- the web view (web_endpoint.cpp) ------------------------------------------

/// GET /NAME: a file of the web view.
void on_web_asset(api_context& ctx, const httplib::Request& req,
                  httplib::Response& res);

} // namespace dirscope::api
