#include "protocol/codec.hpp"

#include <algorithm>
#include <iterator>
#include <type_traits>
#include <utility>

#include "protocol/byte_buffer_growth.hpp"
#include "protocol/byte_io.hpp"

namespace dirscope::protocol {

namespace {

using detail::byte_reader;
using detail::byte_writer;

// Indexed by message::index().
constexpr message_tag tags[] = {
  message_tag::hello,         message_tag::welcome,
  message_tag::reject,        message_tag::heartbeat,
  message_tag::heartbeat_ack, message_tag::goodbye,
  message_tag::list_request,  message_tag::stat_request,
  message_tag::chunk_ack,     message_tag::cancel,
  message_tag::entries_chunk, message_tag::list_end,
  message_tag::stat_reply,    message_tag::request_failed,
  message_tag::du_request,    message_tag::remove_request,
  message_tag::notice,        message_tag::echo_reply,
  message_tag::du_reply,      message_tag::remove_reply,
  message_tag::echo,          message_tag::download_request,
  message_tag::upload_request, message_tag::data_chunk,
  message_tag::upload_end,    message_tag::download_end,
  message_tag::upload_reply,  message_tag::file_meta,
  message_tag::list_progress, message_tag::hash_progress,
  message_tag::find_request,  message_tag::find_chunk,
  message_tag::find_end,      message_tag::find_progress,
};

constexpr const char* names[] = {
  "hello",         "welcome",        "reject",        "heartbeat",
  "heartbeat_ack", "goodbye",        "list_request",  "stat_request",
  "chunk_ack",     "cancel",         "entries_chunk", "list_end",
  "stat_reply",    "request_failed", "du_request",    "remove_request",
  "notice",        "echo_reply",     "du_reply",      "remove_reply",
  "echo",          "download_request", "upload_request", "data_chunk",
  "upload_end",    "download_end",     "upload_reply",     "file_meta",
  "list_progress", "hash_progress", "find_request", "find_chunk",
  "find_end", "find_progress",
};

static_assert(std::size(tags) == std::variant_size_v<message>);
static_assert(std::size(names) == std::variant_size_v<message>);

template <class T, size_t I = 0>
constexpr size_t index_of() {
  if constexpr (std::is_same_v<T, std::variant_alternative_t<I, message>>)
    return I;
  else
    return index_of<T, I + 1>();
}

// name, type, mtime_ns, size and the four presence flags.
constexpr size_t min_entry_size = 4 + 1 + 8 + 8 + 4;

// -- encoding -----------------------------------------------------------------

void write_code(byte_writer& w, wire_code x) {
  w.u16(static_cast<uint16_t>(x));
}

void write(byte_writer& w, const entry& x) {
  w.str(x.name, "entry name");
  w.u8(static_cast<uint8_t>(x.type));
  w.i64(x.mtime_ns);
  w.u64(x.size);
  w.boolean(x.items.has_value());
  if (x.items)
    w.u64(*x.items);
  w.boolean(x.sha256.has_value());
  if (x.sha256)
    w.raw(x.sha256->data(), x.sha256->size());
  w.boolean(x.target.has_value());
  if (x.target)
    w.str(*x.target, "entry target");
  w.boolean(x.error.has_value());
  if (x.error) {
    write_code(w, x.error->code);
    w.str(x.error->message, "entry error message");
  }
}

void write(byte_writer& w, const hello& x) {
  w.u32(magic);
  w.u16(x.version);
  w.str(x.node_name, "node_name");
  w.str(x.hostname, "hostname");
  w.str(x.root, "root");
  w.u32(x.capabilities);
  w.str(x.token, "token");
}

void write(byte_writer& w, const welcome& x) {
  w.u64(x.session_id);
  w.i64(x.server_time_ns);
  w.u32(x.heartbeat_ms);
  w.u32(x.max_frame);
  if (x.features)
    w.u32(*x.features);
}

void write(byte_writer& w, const reject& x) {
  write_code(w, x.code);
  w.str(x.reason, "reason");
}

void write(byte_writer& w, const heartbeat& x) {
  w.u64(x.seq);
  w.i64(x.server_time_ns);
}

void write(byte_writer& w, const heartbeat_ack& x) {
  w.u64(x.seq);
}

void write(byte_writer& w, const goodbye& x) {
  write_code(w, x.code);
  w.str(x.reason, "reason");
}

void write(byte_writer& w, const list_request& x) {
  w.u32(x.id);
  w.str(x.path, "path");
  w.u8(x.flags);
}

void write(byte_writer& w, const stat_request& x) {
  w.u32(x.id);
  w.str(x.path, "path");
}

void write(byte_writer& w, const chunk_ack& x) {
  w.u32(x.id);
}

void write(byte_writer& w, const cancel& x) {
  w.u32(x.id);
}

void write(byte_writer& w, const entries_chunk& x) {
  w.u32(x.id);
  w.count(x.entries.size(), "entry count");
  for (auto& e : x.entries)
    write(w, e);
}

void write(byte_writer& w, const list_end& x) {
  w.u32(x.id);
  w.u64(x.total);
  w.boolean(x.sorted);
}

void write(byte_writer& w, const stat_reply& x) {
  w.u32(x.id);
  write(w, x.item);
}

void write(byte_writer& w, const request_failed& x) {
  w.u32(x.id);
  write_code(w, x.code);
  w.str(x.message, "message");
}

void write(byte_writer& w, const du_request& x) {
  w.u32(x.id);
  w.str(x.path, "path");
}

void write(byte_writer& w, const remove_request& x) {
  w.u32(x.id);
  w.str(x.path, "path");
  w.boolean(x.recursive);
}

void write(byte_writer& w, const notice& x) {
  w.str(x.text, "text");
}

void write(byte_writer& w, const echo_reply& x) {
  w.str(x.text, "text");
}

void write(byte_writer& w, const du_reply& x) {
  w.u32(x.id);
  w.u8(static_cast<uint8_t>(x.type));
  w.u64(x.bytes);
  w.u64(x.files);
  w.u64(x.dirs);
}

void write(byte_writer& w, const remove_reply& x) {
  w.u32(x.id);
  w.u64(x.removed);
}

void write(byte_writer& w, const echo& x) {
  w.str(x.text, "text");
}

void write(byte_writer& w, const download_request& x) {
  w.u32(x.id);
  w.str(x.path, "path");
  w.u64(x.offset);
  w.u8(x.flags);
}

void write(byte_writer& w, const upload_request& x) {
  w.u32(x.id);
  w.str(x.path, "path");
  w.u64(x.size);
  w.u8(x.flags);
}

void write(byte_writer& w, const data_chunk& x) {
  // No peer accepts larger chunks: never send one. (Between 65 472 and
  // this bound, the connection checks that both sides have large_chunks.)
  if (x.data.size() > max_large_chunk) {
    w.fail("data of " + std::to_string(x.data.size()) + " bytes exceeds "
           + std::to_string(max_large_chunk));
    return;
  }
  w.u32(x.id);
  w.u64(x.offset);
  w.str(x.data, "data");
}

void write(byte_writer& w, const upload_end& x) {
  w.u32(x.id);
  w.u64(x.size);
  w.raw(x.sha256.data(), x.sha256.size());
}

void write(byte_writer& w, const download_end& x) {
  w.u32(x.id);
  w.u64(x.size);
  w.raw(x.sha256.data(), x.sha256.size());
}

void write(byte_writer& w, const file_meta& x) {
  w.u32(x.id);
  w.u64(x.size);
  w.u32(x.mode);
  w.i64(x.mtime_ns);
}

void write(byte_writer& w, const upload_reply& x) {
  w.u32(x.id);
  w.u64(x.size);
}

void write(byte_writer& w, const list_progress& x) {
  w.u32(x.id);
  w.u64(x.hashed);
}

void write(byte_writer& w, const hash_progress& x) {
  w.u32(x.id);
  w.str(x.name, "name");
  w.u64(x.size);
  w.u64(x.hashed);
}

template <class T, class F>
void write_opt(byte_writer& w, const std::optional<T>& x, F&& f) {
  w.boolean(x.has_value());
  if (x)
    f(*x);
}

void write(byte_writer& w, const find_request& x) {
  w.u32(x.id);
  w.str(x.path, "path");
  w.u8(x.flags);
  write_opt(w, x.max_depth, [&w](uint32_t v) { w.u32(v); });
  write_opt(w, x.name_glob,
            [&w](const std::string& v) { w.str(v, "name glob"); });
  write_opt(w, x.path_glob,
            [&w](const std::string& v) { w.str(v, "path glob"); });
  w.u8(x.types);
  write_opt(w, x.min_size, [&w](uint64_t v) { w.u64(v); });
  write_opt(w, x.max_size, [&w](uint64_t v) { w.u64(v); });
  write_opt(w, x.min_mtime_ns, [&w](int64_t v) { w.i64(v); });
  write_opt(w, x.max_mtime_ns, [&w](int64_t v) { w.i64(v); });
  write_opt(w, x.sha256,
            [&w](const sha256_digest& v) { w.raw(v.data(), v.size()); });
}

void write(byte_writer& w, const find_chunk& x) {
  w.u32(x.id);
  w.count(x.matches.size(), "match count");
  for (auto& m : x.matches) {
    w.boolean(m.last);
    write(w, m.item);
  }
}

void write(byte_writer& w, const find_end& x) {
  w.u32(x.id);
  w.u64(x.matched);
  w.u64(x.visited);
}

void write(byte_writer& w, const find_progress& x) {
  w.u32(x.id);
  w.u64(x.visited);
}

// -- decoding -----------------------------------------------------------------

wire_code read_code(byte_reader& r, const char* field) {
  return wire_code_from(r.u16(field));
}

void read(byte_reader& r, entry& x) {
  x.name = r.str("entry name");
  auto type = r.u8("entry type");
  if (type > static_cast<uint8_t>(entry_type::other))
    r.fail("bad entry_type " + std::to_string(type));
  x.type = static_cast<entry_type>(type);
  x.mtime_ns = r.i64("entry mtime_ns");
  x.size = r.u64("entry size");
  if (r.flag("entry items"))
    x.items = r.u64("entry items");
  if (r.flag("entry sha256")) {
    x.sha256.emplace();
    r.raw(*x.sha256, "entry sha256");
  }
  if (r.flag("entry target"))
    x.target = r.str("entry target");
  if (r.flag("entry error")) {
    auto code = read_code(r, "entry error code");
    x.error = entry_error{code, r.str("entry error message")};
  }
}

void read(byte_reader& r, hello& x) {
  auto m = r.u32("magic");
  if (r.ok() && m != magic) {
    r.fail("not a dirscope peer");
    return;
  }
  x.version = r.u16("version");
  x.node_name = r.str("node_name");
  x.hostname = r.str("hostname");
  x.root = r.str("root");
  x.capabilities = r.u32("capabilities");
  x.token = r.str("token");
}

void read(byte_reader& r, welcome& x) {
  x.session_id = r.u64("session_id");
  x.server_time_ns = r.i64("server_time_ns");
  x.heartbeat_ms = r.u32("heartbeat_ms");
  x.max_frame = r.u32("max_frame");
  // Present only for a node that announced capability::features.
  if (r.ok() && r.remaining() >= 4)
    x.features = r.u32("features");
}

void read(byte_reader& r, reject& x) {
  x.code = read_code(r, "code");
  x.reason = r.str("reason");
}

void read(byte_reader& r, heartbeat& x) {
  x.seq = r.u64("seq");
  x.server_time_ns = r.i64("server_time_ns");
}

void read(byte_reader& r, heartbeat_ack& x) {
  x.seq = r.u64("seq");
}

void read(byte_reader& r, goodbye& x) {
  x.code = read_code(r, "code");
  x.reason = r.str("reason");
}

void read(byte_reader& r, list_request& x) {
  x.id = r.u32("id");
  x.path = r.str("path");
  x.flags = r.u8("flags");
}

void read(byte_reader& r, stat_request& x) {
  x.id = r.u32("id");
  x.path = r.str("path");
}

void read(byte_reader& r, chunk_ack& x) {
  x.id = r.u32("id");
}

void read(byte_reader& r, cancel& x) {
  x.id = r.u32("id");
}

void read(byte_reader& r, entries_chunk& x) {
  x.id = r.u32("id");
  auto n = r.u32("entry count");
  if (!r.ok())
    return;
  // Bound the reservation by what the body can hold, not by what it claims.
  if (n > r.remaining() / min_entry_size) {
    r.fail(std::to_string(n) + " entries cannot fit in "
           + std::to_string(r.remaining()) + " bytes (an entry takes at least "
           + std::to_string(min_entry_size) + ")");
    return;
  }
  x.entries.resize(n);
  for (auto& e : x.entries) {
    read(r, e);
    if (!r.ok())
      return;
  }
}

void read(byte_reader& r, list_end& x) {
  x.id = r.u32("id");
  x.total = r.u64("total");
  x.sorted = r.boolean("sorted");
}

void read(byte_reader& r, stat_reply& x) {
  x.id = r.u32("id");
  read(r, x.item);
}

void read(byte_reader& r, request_failed& x) {
  x.id = r.u32("id");
  x.code = read_code(r, "code");
  x.message = r.str("message");
}

void read(byte_reader& r, du_request& x) {
  x.id = r.u32("id");
  x.path = r.str("path");
}

void read(byte_reader& r, remove_request& x) {
  x.id = r.u32("id");
  x.path = r.str("path");
  x.recursive = r.boolean("recursive");
}

void read(byte_reader& r, notice& x) {
  x.text = r.str("text");
}

void read(byte_reader& r, echo_reply& x) {
  x.text = r.str("text");
}

void read(byte_reader& r, du_reply& x) {
  x.id = r.u32("id");
  auto type = r.u8("type");
  if (type > static_cast<uint8_t>(entry_type::other))
    r.fail("bad entry_type " + std::to_string(type));
  x.type = static_cast<entry_type>(type);
  x.bytes = r.u64("bytes");
  x.files = r.u64("files");
  x.dirs = r.u64("dirs");
}

void read(byte_reader& r, remove_reply& x) {
  x.id = r.u32("id");
  x.removed = r.u64("removed");
}

void read(byte_reader& r, echo& x) {
  x.text = r.str("text");
}

void read(byte_reader& r, download_request& x) {
  x.id = r.u32("id");
  x.path = r.str("path");
  x.offset = r.u64("offset");
  x.flags = r.u8("flags");
}

void read(byte_reader& r, upload_request& x) {
  x.id = r.u32("id");
  x.path = r.str("path");
  x.size = r.u64("size");
  x.flags = r.u8("flags");
}

void read(byte_reader& r, data_chunk& x) {
  x.id = r.u32("id");
  x.offset = r.u64("offset");
  x.data = r.str("data");
  // The connection holds chunks above max_data_chunk to the negotiated
  // bound (large_chunks).
  if (x.data.size() > max_large_chunk)
    r.fail("data_chunk of " + std::to_string(x.data.size())
           + " bytes exceeds " + std::to_string(max_large_chunk));
}

void read(byte_reader& r, upload_end& x) {
  x.id = r.u32("id");
  x.size = r.u64("size");
  r.raw(x.sha256, "sha256");
}

void read(byte_reader& r, download_end& x) {
  x.id = r.u32("id");
  x.size = r.u64("size");
  r.raw(x.sha256, "sha256");
}

void read(byte_reader& r, file_meta& x) {
  x.id = r.u32("id");
  x.size = r.u64("size");
  x.mode = r.u32("mode");
  if (x.mode > 07777)
    r.fail("file_meta mode " + std::to_string(x.mode) + " has bits beyond "
           "07777");
  x.mtime_ns = r.i64("mtime_ns");
}

void read(byte_reader& r, upload_reply& x) {
  x.id = r.u32("id");
  x.size = r.u64("size");
}

void read(byte_reader& r, list_progress& x) {
  x.id = r.u32("id");
  x.hashed = r.u64("hashed");
}

void read(byte_reader& r, hash_progress& x) {
  x.id = r.u32("id");
  x.name = r.str("name");
  x.size = r.u64("size");
  x.hashed = r.u64("hashed");
}

void read(byte_reader& r, find_request& x) {
  x.id = r.u32("id");
  x.path = r.str("path");
  x.flags = r.u8("flags");
  if (r.flag("max_depth"))
    x.max_depth = r.u32("max_depth");
  if (r.flag("name glob"))
    x.name_glob = r.str("name glob");
  if (r.flag("path glob"))
    x.path_glob = r.str("path glob");
  x.types = r.u8("types");
  if (r.flag("min_size"))
    x.min_size = r.u64("min_size");
  if (r.flag("max_size"))
    x.max_size = r.u64("max_size");
  if (r.flag("min_mtime_ns"))
    x.min_mtime_ns = r.i64("min_mtime_ns");
  if (r.flag("max_mtime_ns"))
    x.max_mtime_ns = r.i64("max_mtime_ns");
  if (r.flag("sha256")) {
    x.sha256.emplace();
    r.raw(*x.sha256, "sha256");
  }
}

void read(byte_reader& r, find_chunk& x) {
  x.id = r.u32("id");
  auto n = r.u32("match count");
  if (!r.ok())
    return;
  // Bound the reservation by what the body can hold, not by what it claims.
  if (n > r.remaining() / (1 + min_entry_size)) {
    r.fail(std::to_string(n) + " matches cannot fit in "
           + std::to_string(r.remaining()) + " bytes (a match takes at least "
           + std::to_string(1 + min_entry_size) + ")");
    return;
  }
  x.matches.resize(n);
  for (auto& m : x.matches) {
    m.last = r.boolean("last");
    read(r, m.item);
    if (!r.ok())
      return;
  }
}

void read(byte_reader& r, find_end& x) {
  x.id = r.u32("id");
  x.matched = r.u64("matched");
  x.visited = r.u64("visited");
}

void read(byte_reader& r, find_progress& x) {
  x.id = r.u32("id");
  x.visited = r.u64("visited");
}

template <class T>
outcome<message> decode_as(const uint8_t* data, size_t size) {
  byte_reader r{data, size, names[index_of<T>()]};
  T x;
  read(r, x);
  if (r.ok() && r.remaining() > 0)
    r.fail(std::to_string(r.remaining()) + " trailing bytes");
  if (!r.ok())
    return failure{wire_code::protocol_error, r.error()};
  return message{std::move(x)};
}

failure protocol_failure(std::string what) {
  return failure{wire_code::protocol_error, std::move(what)};
}

} // namespace

message_tag tag_of(const message& msg) noexcept {
  return tags[msg.index()];
}

const char* name_of(const message& msg) noexcept {
  return names[msg.index()];
}

outcome<size_t> encode(const message& msg, std::vector<uint8_t>& out,
                       uint32_t max_frame) {
  auto limit = effective_max_frame(max_frame);
  auto start = out.size();
  byte_writer w{out};
  w.u32(0); // patched below
  w.u8(static_cast<uint8_t>(tag_of(msg)));
  std::visit([&w](const auto& x) { write(w, x); }, msg);
  auto body = w.size() - start - frame_header_size;
  if (w.ok() && body > limit)
    w.fail("frame body of " + std::to_string(body)
           + " bytes exceeds the frame limit of " + std::to_string(limit));
  w.patch_u32(start, body, "frame length");
  if (!w.ok()) {
    out.resize(start);
    return failure{wire_code::bad_request, std::string{"cannot encode "}
                                             + name_of(msg) + ": " + w.error()};
  }
  return out.size() - start;
}

outcome<std::vector<uint8_t>> encode(const message& msg, uint32_t max_frame) {
  std::vector<uint8_t> out;
  auto res = encode(msg, out, max_frame);
  if (!res)
    return res.error();
  return out;
}

size_t max_text_size(uint32_t max_frame) noexcept {
  // tag:u8, then text:bytes (u32 length and the bytes).
  return effective_max_frame(max_frame) - 1 - 4;
}

size_t encoded_size(const entry& x) noexcept {
  auto n = min_entry_size + x.name.size();
  if (x.items)
    n += 8;
  if (x.sha256)
    n += x.sha256->size();
  if (x.target)
    n += 4 + x.target->size();
  if (x.error)
    n += 2 + 4 + x.error->message.size();
  return n;
}

size_t encoded_size(const find_match& x) noexcept {
  return 1 + encoded_size(x.item);
}

outcome<message> decode_body(const uint8_t* data, size_t size) {
  if (size == 0)
    return protocol_failure("empty frame body");
  auto body = data + 1;
  auto n = size - 1;
  switch (static_cast<message_tag>(data[0])) {
    case message_tag::hello:
      return decode_as<hello>(body, n);
    case message_tag::welcome:
      return decode_as<welcome>(body, n);
    case message_tag::reject:
      return decode_as<reject>(body, n);
    case message_tag::heartbeat:
      return decode_as<heartbeat>(body, n);
    case message_tag::heartbeat_ack:
      return decode_as<heartbeat_ack>(body, n);
    case message_tag::goodbye:
      return decode_as<goodbye>(body, n);
    case message_tag::list_request:
      return decode_as<list_request>(body, n);
    case message_tag::stat_request:
      return decode_as<stat_request>(body, n);
    case message_tag::chunk_ack:
      return decode_as<chunk_ack>(body, n);
    case message_tag::cancel:
      return decode_as<cancel>(body, n);
    case message_tag::entries_chunk:
      return decode_as<entries_chunk>(body, n);
    case message_tag::list_end:
      return decode_as<list_end>(body, n);
    case message_tag::stat_reply:
      return decode_as<stat_reply>(body, n);
    case message_tag::request_failed:
      return decode_as<request_failed>(body, n);
    case message_tag::du_request:
      return decode_as<du_request>(body, n);
    case message_tag::remove_request:
      return decode_as<remove_request>(body, n);
    case message_tag::notice:
      return decode_as<notice>(body, n);
    case message_tag::echo_reply:
      return decode_as<echo_reply>(body, n);
    case message_tag::du_reply:
      return decode_as<du_reply>(body, n);
    case message_tag::remove_reply:
      return decode_as<remove_reply>(body, n);
    case message_tag::echo:
      return decode_as<echo>(body, n);
    case message_tag::download_request:
      return decode_as<download_request>(body, n);
    case message_tag::upload_request:
      return decode_as<upload_request>(body, n);
    case message_tag::data_chunk:
      return decode_as<data_chunk>(body, n);
    case message_tag::upload_end:
      return decode_as<upload_end>(body, n);
    case message_tag::download_end:
      return decode_as<download_end>(body, n);
    case message_tag::upload_reply:
      return decode_as<upload_reply>(body, n);
    case message_tag::file_meta:
      return decode_as<file_meta>(body, n);
    case message_tag::list_progress:
      return decode_as<list_progress>(body, n);
    case message_tag::hash_progress:
      return decode_as<hash_progress>(body, n);
    case message_tag::find_request:
      return decode_as<find_request>(body, n);
    case message_tag::find_chunk:
      return decode_as<find_chunk>(body, n);
    case message_tag::find_end:
      return decode_as<find_end>(body, n);
    case message_tag::find_progress:
      return decode_as<find_progress>(body, n);
  }
  return protocol_failure("unknown message tag "
                          + std::to_string(static_cast<int>(data[0])));
}

// -- frame_decoder ------------------------------------------------------------

namespace {

/// Consumed bytes a decoder keeps in front of a partial frame before it
/// moves that frame to the front of its buffer.
constexpr size_t compact_after = 256u << 10;

} // namespace

frame_decoder::frame_decoder(uint32_t max_frame)
  : max_frame_(effective_max_frame(max_frame)) {
  // nop
}

void frame_decoder::feed(const uint8_t* data, size_t size) {
  // A failed stream is dead; holding on to more of it only costs memory.
  if (failed_)
    return;
  append(buf_, data, size);
}

std::variant<std::monostate, message, failure> frame_decoder::next() {
  if (failed_) {
    buf_.clear(); // input() may have appended
    return protocol_failure("stream already failed; the connection must close");
  }
  auto fail = [this](failure err) {
    failed_ = true;
    buf_.clear();
    buf_.shrink_to_fit();
    pos_ = 0;
    return err;
  };
  if (buffered() < frame_header_size)
    return std::monostate{};
  auto p = buf_.data() + pos_;
  uint32_t len = (uint32_t{p[0]} << 24) | (uint32_t{p[1]} << 16)
                 | (uint32_t{p[2]} << 8) | uint32_t{p[3]};
  // Refuse before the body arrives: a peer must not make us buffer it.
  if (len == 0)
    return fail(protocol_failure("empty frame (length 0)"));
  if (len > max_frame_)
    return fail(protocol_failure("frame of " + std::to_string(len)
                                 + " bytes exceeds limit of "
                                 + std::to_string(max_frame_)));
  if (buffered() - frame_header_size < len)
    return std::monostate{};
  auto result = decode_body(p + frame_header_size, len);
  if (!result)
    return fail(result.error());
  pos_ += frame_header_size + len;
  if (pos_ == buf_.size()) {
    buf_.clear();
    pos_ = 0;
  } else if (pos_ > buf_.size() / 2 && pos_ >= compact_after) {
    // Moving the partial frame to the front costs a copy of it: do it only
    // once a good many consumed bytes would be reclaimed, not after every
    // frame of a transfer.
    buf_.erase(buf_.begin(), buf_.begin() + static_cast<ptrdiff_t>(pos_));
    pos_ = 0;
  }
  return std::move(result.value());
}

} // namespace dirscope::protocol
