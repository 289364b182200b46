#pragma once

// The one block of atoms and message types exchanged between dirscope's
// actors. CAF 0.17.6 carries the 0.18 type-ID macros for forward
// compatibility; atoms land in dirscope::atom.

#include <memory>
#include <vector>

#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/error.hpp>
#include <caf/make_message.hpp>
#include <caf/message.hpp>
#include <caf/type_id.hpp>

#include "node/hash_cache.hpp"
#include "node/find_walk.hpp"
#include "node/listing.hpp"
#include "actors/liveness.hpp"
#include "actors/request_origin.hpp"
#include "node/transfer.hpp"
#include "protocol/messages.hpp"
#include "protocol/wire_code.hpp"
#include "shell/node_info.hpp"

#define DIRSCOPE_ADD_ATOM(name, text)                                          \
  CAF_ADD_ATOM(dirscope, dirscope::atom, name, text)

CAF_BEGIN_TYPE_ID_BLOCK(dirscope, caf::first_custom_type_id)

  DIRSCOPE_ADD_ATOM(ack, "ack")
  DIRSCOPE_ADD_ATOM(broadcast, "broadcast")
  DIRSCOPE_ADD_ATOM(cancel, "cancel")
  DIRSCOPE_ADD_ATOM(chunk, "chunk")
  DIRSCOPE_ADD_ATOM(commit, "commit")
  DIRSCOPE_ADD_ATOM(complete, "complete")
  DIRSCOPE_ADD_ATOM(connect, "connect")
  DIRSCOPE_ADD_ATOM(connected, "connected")
  DIRSCOPE_ADD_ATOM(data, "data")
  DIRSCOPE_ADD_ATOM(deadline, "deadline")
  DIRSCOPE_ADD_ATOM(done, "done")
  DIRSCOPE_ADD_ATOM(du, "du")
  DIRSCOPE_ADD_ATOM(echo, "echo")
  DIRSCOPE_ADD_ATOM(eof, "eof")
  DIRSCOPE_ADD_ATOM(failed, "failed")
  DIRSCOPE_ADD_ATOM(find, "find")
  DIRSCOPE_ADD_ATOM(get, "get")
  DIRSCOPE_ADD_ATOM(goodbye, "goodbye")
  DIRSCOPE_ADD_ATOM(hash, "hash")
  DIRSCOPE_ADD_ATOM(heartbeat, "heartbeat")
  DIRSCOPE_ADD_ATOM(join, "join")
  DIRSCOPE_ADD_ATOM(kick, "kick")
  DIRSCOPE_ADD_ATOM(line, "line")
  DIRSCOPE_ADD_ATOM(list, "list")
  DIRSCOPE_ADD_ATOM(meta, "meta")
  DIRSCOPE_ADD_ATOM(nodes, "nodes")
  DIRSCOPE_ADD_ATOM(notice, "notice")
  DIRSCOPE_ADD_ATOM(open, "open")
  DIRSCOPE_ADD_ATOM(progress, "progress")
  DIRSCOPE_ADD_ATOM(put, "put")
  DIRSCOPE_ADD_ATOM(read, "read")
  DIRSCOPE_ADD_ATOM(remove, "remove")
  DIRSCOPE_ADD_ATOM(resolve, "resolve")
  DIRSCOPE_ADD_ATOM(restart, "restart")
  DIRSCOPE_ADD_ATOM(shutdown, "shutdown")
  DIRSCOPE_ADD_ATOM(stat, "stat")
  DIRSCOPE_ADD_ATOM(subscribe, "subscribe")
  DIRSCOPE_ADD_ATOM(tick, "tick")
  DIRSCOPE_ADD_ATOM(timeout, "timeout")
  DIRSCOPE_ADD_ATOM(wait, "wait")
  DIRSCOPE_ADD_ATOM(welcomed, "welcomed")
  DIRSCOPE_ADD_ATOM(write, "write")

  CAF_ADD_TYPE_ID(dirscope, (dirscope::node_info))
  CAF_ADD_TYPE_ID(dirscope, (std::vector<dirscope::node_info>))
  CAF_ADD_TYPE_ID(dirscope, (dirscope::node_query))
  CAF_ADD_TYPE_ID(dirscope, (dirscope::node_page))
  CAF_ADD_TYPE_ID(dirscope, (dirscope::protocol::entry))
  CAF_ADD_TYPE_ID(dirscope, (std::vector<dirscope::protocol::entry>))
  CAF_ADD_TYPE_ID(dirscope, (dirscope::protocol::sha256_digest))
  CAF_ADD_TYPE_ID(dirscope, (dirscope::node::listing_batch))
  CAF_ADD_TYPE_ID(dirscope, (dirscope::node::file_key))
  CAF_ADD_TYPE_ID(dirscope, (std::shared_ptr<dirscope::node::dir_cursor>))
  CAF_ADD_TYPE_ID(dirscope, (dirscope::protocol::du_reply))
  CAF_ADD_TYPE_ID(dirscope, (dirscope::node::file_chunk))
  CAF_ADD_TYPE_ID(dirscope, (std::shared_ptr<dirscope::node::file_reader>))
  CAF_ADD_TYPE_ID(dirscope, (std::shared_ptr<dirscope::node::file_writer>))
  CAF_ADD_TYPE_ID(dirscope, (dirscope::node::hash_job_ptr))

  CAF_ADD_TYPE_ID(dirscope, (dirscope::protocol::find_request))
  CAF_ADD_TYPE_ID(dirscope, (std::vector<dirscope::protocol::find_match>))
  CAF_ADD_TYPE_ID(dirscope, (dirscope::node::find_batch))
  CAF_ADD_TYPE_ID(dirscope, (std::shared_ptr<dirscope::node::find_walk>))
  CAF_ADD_TYPE_ID(dirscope, (dirscope::node_liveness_ptr))
  CAF_ADD_TYPE_ID(dirscope, (dirscope::request_origin))

CAF_END_TYPE_ID_BLOCK(dirscope)

// Messages that never leave the process: no serialization needed.
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(dirscope::protocol::entry)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(std::vector<dirscope::protocol::entry>)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(dirscope::node::listing_batch)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(dirscope::node::file_key)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(dirscope::protocol::du_reply)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(std::shared_ptr<dirscope::node::dir_cursor>)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(dirscope::node::file_chunk)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(std::shared_ptr<dirscope::node::file_reader>)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(std::shared_ptr<dirscope::node::file_writer>)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(dirscope::node::hash_job_ptr)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(dirscope::protocol::find_request)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(std::vector<dirscope::protocol::find_match>)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(dirscope::node::find_batch)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(std::shared_ptr<dirscope::node::find_walk>)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(dirscope::node_liveness_ptr)

// wire_code doubles as dirscope's caf::error code enum (all values < 256).
// CAF turns such enums into caf::error inside messages, so interfaces carry
// caf::error, never a bare wire_code.
CAF_ERROR_CODE_ENUM(dirscope::wire_code, "dirscope")
