// The life of a request on a node connection: one table entry from the
// request to its reply, failure, timeout or cancel.

#include <caf/exit_reason.hpp>
#include <spdlog/spdlog.h>

#include "actors/error.hpp"
#include "actors/server/node_connection_ops.hpp"
#include "actors/wire_io.hpp"
#include "protocol/names.hpp"
#include "protocol/paths.hpp"

namespace dirscope::node_conn {

namespace {

/// The request report of seed 001: one line per request to a node. A
/// failed request is the operator's news, shown by the shell: the report
/// logs it at info, so that a terminal (warnings only) does not show it
/// twice.
void report(const state& st, const pending_request& req, const failure* err,
            uint64_t count, const char* unit) {
  auto shown = protocol::escape_name(req.path);
  if (err == nullptr)
    spdlog::info("request node={} addr={} operator={} cmd={} path={} "
                 "status=ok {}={}",
                 st.who(), st.info.endpoint(), req.operator_name,
                 command_of(req), shown, unit, count);
  else if (err->code == wire_code::not_a_directory
           && req.kind == request_kind::list)
    // `ls FILE` asks for a listing first; the shell then shows the file
    // with a stat, whose report follows.
    spdlog::debug("request node={} addr={} cmd=ls path={} is not a "
                  "directory: the shell stats it",
                  st.who(), st.info.endpoint(), shown);
  else
    spdlog::info("request node={} addr={} operator={} cmd={} path={} "
                 "status=failed error={} message=\"{}\"",
                 st.who(), st.info.endpoint(), req.operator_name,
                 command_of(req), shown, to_string(err->code), err->message);
}

/// Removes request `i` from the table and stops its helpers.
pending_request take(self_ptr self, request_iter i) {
  auto req = self->state.requests.take(i);
  if (req.pump)
    self->send_exit(req.pump, caf::exit_reason::user_shutdown);
  return req;
}

} // namespace

caf::error admit_request(self_ptr self, const std::string& path) {
  auto& st = self->state;
  if (st.stage != state::phase::joined)
    return make_error(wire_code::io_error, "the node is disconnecting");
  if (st.requests.size() >= st.settings.max_in_flight)
    return make_error(wire_code::too_many_requests,
                      "too many requests in flight for this node");
  if (auto checked = protocol::split_node_path(path, st.settings.max_path);
      !checked)
    return to_error(checked.error());
  return caf::none;
}

request_iter open_request(self_ptr self, request_kind kind,
                          request_origin& origin, const std::string& path) {
  auto& st = self->state;
  pending_request req;
  req.kind = kind;
  req.query = origin.query;
  req.operator_name = std::move(origin.operator_name);
  req.path = path;
  req.reply = self->make_response_promise();
  req.deadline = self->clock().now() + st.settings.request_timeout;
  auto id = st.requests.add(std::move(req));
  after(self, st.settings.request_timeout, atom::timeout_v, id);
  return st.requests.find(id);
}

void fail_request(self_ptr self, request_iter i, const failure& why,
                  bool tell_node) {
  auto id = i->first;
  auto req = take(self, i);
  report(self->state, req, &why, 0, "items");
  req.reply.deliver(to_error(why));
  if (tell_node)
    write(self, protocol::cancel{id});
}

void finish_request(self_ptr self, request_iter i, uint64_t count,
                    const char* unit) {
  auto req = take(self, i);
  report(self->state, req, nullptr, count, unit);
}

void fail_all(self_ptr self, const failure& why) {
  auto& st = self->state;
  while (!st.requests.empty())
    fail_request(self, st.requests.begin(), why, false);
}

void expire_request(self_ptr self, uint32_t id) {
  auto& st = self->state;
  auto i = st.requests.find(id);
  if (i == st.requests.end())
    return;
  auto now = self->clock().now();
  if (i->second.deadline > now) {
    after(self, i->second.deadline - now, atom::timeout_v, id);
    return;
  }
  failure why{wire_code::timeout,
              "the node did not answer within "
                + std::to_string(st.settings.request_timeout.count() / 1000)
                + " s"};
  fail_request(self, i, why, true);
}

void cancel_query(self_ptr self, uint64_t query) {
  auto& st = self->state;
  auto i = st.requests.find_query(query);
  if (i != st.requests.end())
    fail_request(self, i, {wire_code::cancelled, "cancelled"}, true);
}

request_iter expect_request(self_ptr self, uint32_t id, request_kind kind,
                            const char* frame) {
  auto& st = self->state;
  auto i = st.requests.find(id);
  if (i == st.requests.end() || i->second.kind == kind)
    return i;
  protocol_violation(self, std::string{"unexpected "} + frame + " for a "
                             + command_of(i->second) + " request");
  return st.requests.end();
}

} // namespace dirscope::node_conn
