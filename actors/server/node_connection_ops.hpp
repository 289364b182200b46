#pragma once

// What the files of the node connection broker share: node_connection.cpp
// (set-up, behavior, closing, liveness), node_requests.cpp (the request
// table's life cycle), node_hello.cpp (the handshake) and node_frames.cpp
// (frames from the node). Not for other actors: they talk to the broker
// through node_broker_actor's messages.

#include <string>

#include <caf/send.hpp>

#include "actors/server/node_connection.hpp"

namespace dirscope::node_conn {

using self_ptr = node_connection_broker;
using state = node_connection_state;
using request_iter = request_table::iterator;

/// Sends `xs` to `self` after `delay`. Anonymous on purpose: a delayed
/// message whose sender is the broker itself kept every broker that quit
/// before it fired alive for good (a closed connection leaked its actor,
/// ~2 KB, on every disconnect).
template <class... Ts>
void after(self_ptr self, caf::timespan delay, Ts... xs) {
  caf::delayed_anon_send(caf::actor_cast<caf::actor>(self), delay, xs...);
}

/// Frames `msg` for the node.
void write(self_ptr self, const protocol::message& msg);

// -- closing (node_connection.cpp) --------------------------------------------

/// Ends the connection: fails what is in flight, optionally says goodbye,
/// ends the TLS session (close_notify) and closes.
void close(self_ptr self, const failure& why, bool say_goodbye,
           caf::error exit_reason);

/// Turns the node away before it joined (reject, then close).
void reject(self_ptr self, wire_code code, const std::string& reason,
            caf::error exit_reason);

/// Logs the violation, says goodbye(protocol_error) and closes.
void protocol_violation(self_ptr self, const std::string& what);

// -- the request table (node_requests.cpp) ------------------------------------

/// Checks that a new request for `path` may go out now.
caf::error admit_request(self_ptr self, const std::string& path);

/// Enters a request of `kind` for console query `query` in the table with
/// its reply promise and deadline, and arms its timer. The caller sends
/// the request frame under the returned entry's id.
request_iter open_request(self_ptr self, request_kind kind,
                          request_origin& origin,
                          const std::string& path);

/// Ends request `i` with `why`; with `tell_node` the node is told to stop
/// (cancel). Late frames for its id are ignored from now on.
void fail_request(self_ptr self, request_iter i, const failure& why,
                  bool tell_node);

/// Ends request `i` successfully; its reply was delivered by the caller.
void finish_request(self_ptr self, request_iter i, uint64_t count,
                    const char* unit = "items");

/// Fails every request in flight (the node is not told).
void fail_all(self_ptr self, const failure& why);

/// Timer: request `id` saw no frame in time? Fails it and cancels it on the
/// node, or waits for its moved deadline.
void expire_request(self_ptr self, uint32_t id);

/// The console gave up on query `query` (Ctrl-C, a failed write).
void cancel_query(self_ptr self, uint64_t query);

/// The request frame `frame` (of id `id`) answers: end() for an id not in
/// flight (late frames of a cancelled or timed-out request are expected and
/// ignored), and end() after a protocol error if the id belongs to another
/// kind of request.
request_iter expect_request(self_ptr self, uint32_t id, request_kind kind,
                            const char* frame);

// -- the handshake (node_hello.cpp) -------------------------------------------

/// The node's hello: checks version and token, then asks the supervisor to
/// let it join.
void on_hello(self_ptr self, protocol::hello& hello);

// -- frames from the node (node_frames.cpp) -----------------------------------

/// Dispatches one decoded frame; returns false once the connection closes.
bool on_frame(self_ptr self, protocol::message& msg);

/// An upload pump hands over bytes of upload `id`.
void on_upload_data(self_ptr self, uint32_t id, uint64_t offset,
                    std::string& bytes);

/// An upload pump read everything of upload `id`.
void on_upload_done(self_ptr self, uint32_t id, uint64_t size,
                    const protocol::sha256_digest& sha256);

/// The consumer of list or get query `query` took one chunk: the node may
/// send another.
void on_consumer_ack(self_ptr self, uint64_t query);

} // namespace dirscope::node_conn
