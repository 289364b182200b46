#pragma once

// Shared helpers for the protocol tests: field-wise equality (the message
// structs deliberately have no operator==), one sample of every message kind
// and byte-level helpers.

#include <cstdint>
#include <string>
#include <tuple>
#include <variant>
#include <vector>

#include "protocol/codec.hpp"
#include "protocol/messages.hpp"

namespace dirscope::protocol::test {

using bytes = std::vector<uint8_t>;

// -- equality -----------------------------------------------------------------

inline bool equal(const entry_error& x, const entry_error& y) {
  return x.code == y.code && x.message == y.message;
}

inline bool equal(const entry& x, const entry& y) {
  auto same_error = x.error.has_value() == y.error.has_value()
                    && (!x.error || equal(*x.error, *y.error));
  return std::tie(x.name, x.type, x.mtime_ns, x.size, x.items, x.sha256,
                  x.target)
           == std::tie(y.name, y.type, y.mtime_ns, y.size, y.items, y.sha256,
                       y.target)
         && same_error;
}

inline auto fields(const hello& x) {
  return std::tie(x.version, x.node_name, x.hostname, x.root, x.capabilities,
                  x.token);
}

inline auto fields(const welcome& x) {
  return std::tie(x.session_id, x.server_time_ns, x.heartbeat_ms, x.max_frame,
                  x.features);
}

inline auto fields(const reject& x) {
  return std::tie(x.code, x.reason);
}

inline auto fields(const heartbeat& x) {
  return std::tie(x.seq, x.server_time_ns);
}

inline auto fields(const heartbeat_ack& x) {
  return std::tie(x.seq);
}

inline auto fields(const goodbye& x) {
  return std::tie(x.code, x.reason);
}

inline auto fields(const list_request& x) {
  return std::tie(x.id, x.path, x.flags);
}

inline auto fields(const stat_request& x) {
  return std::tie(x.id, x.path);
}

inline auto fields(const chunk_ack& x) {
  return std::tie(x.id);
}

inline auto fields(const cancel& x) {
  return std::tie(x.id);
}

inline auto fields(const list_end& x) {
  return std::tie(x.id, x.total, x.sorted);
}

inline auto fields(const request_failed& x) {
  return std::tie(x.id, x.code, x.message);
}

inline auto fields(const du_request& x) {
  return std::tie(x.id, x.path);
}

inline auto fields(const remove_request& x) {
  return std::tie(x.id, x.path, x.recursive);
}

inline auto fields(const notice& x) {
  return std::tie(x.text);
}

inline auto fields(const echo_reply& x) {
  return std::tie(x.text);
}

inline auto fields(const du_reply& x) {
  return std::tie(x.id, x.type, x.bytes, x.files, x.dirs);
}

inline auto fields(const remove_reply& x) {
  return std::tie(x.id, x.removed);
}

inline auto fields(const echo& x) {
  return std::tie(x.text);
}

inline auto fields(const download_request& x) {
  return std::tie(x.id, x.path, x.offset, x.flags);
}

inline auto fields(const upload_request& x) {
  return std::tie(x.id, x.path, x.size, x.flags);
}

inline auto fields(const data_chunk& x) {
  return std::tie(x.id, x.offset, x.data);
}

inline auto fields(const upload_end& x) {
  return std::tie(x.id, x.size, x.sha256);
}

inline auto fields(const download_end& x) {
  return std::tie(x.id, x.size, x.sha256);
}

inline auto fields(const upload_reply& x) {
  return std::tie(x.id, x.size);
}

inline auto fields(const file_meta& x) {
  return std::tie(x.id, x.size, x.mode, x.mtime_ns);
}

inline auto fields(const list_progress& x) {
  return std::tie(x.id, x.hashed);
}

inline auto fields(const hash_progress& x) {
  return std::tie(x.id, x.name, x.size, x.hashed);
}

inline auto fields(const find_request& x) {
  return std::tie(x.id, x.path, x.flags, x.max_depth, x.name_glob,
                  x.path_glob, x.types, x.min_size, x.max_size,
                  x.min_mtime_ns, x.max_mtime_ns, x.sha256);
}

inline auto fields(const find_end& x) {
  return std::tie(x.id, x.matched, x.visited);
}

inline auto fields(const find_progress& x) {
  return std::tie(x.id, x.visited);
}

template <class T>
bool equal(const T& x, const T& y) {
  return fields(x) == fields(y);
}

inline bool equal(const entries_chunk& x, const entries_chunk& y) {
  if (x.id != y.id || x.entries.size() != y.entries.size())
    return false;
  for (size_t i = 0; i < x.entries.size(); ++i)
    if (!equal(x.entries[i], y.entries[i]))
      return false;
  return true;
}

inline bool equal(const find_chunk& x, const find_chunk& y) {
  if (x.id != y.id || x.matches.size() != y.matches.size())
    return false;
  for (size_t i = 0; i < x.matches.size(); ++i)
    if (x.matches[i].last != y.matches[i].last
        || !equal(x.matches[i].item, y.matches[i].item))
      return false;
  return true;
}

inline bool equal(const stat_reply& x, const stat_reply& y) {
  return x.id == y.id && equal(x.item, y.item);
}

inline bool equal(const message& x, const message& y) {
  if (x.index() != y.index())
    return false;
  return std::visit(
    [&y](const auto& lhs) {
      using type = std::decay_t<decltype(lhs)>;
      return equal(lhs, std::get<type>(y));
    },
    x);
}

// -- samples ------------------------------------------------------------------

inline sha256_digest sample_digest() {
  sha256_digest d;
  for (size_t i = 0; i < d.size(); ++i)
    d[i] = static_cast<uint8_t>(0xa0 + i * 3);
  return d;
}

/// Entries covering every entry_type and every optional present and absent,
/// with names that are not UTF-8 and hold NUL bytes.
inline std::vector<entry> sample_entries() {
  std::vector<entry> result;
  entry plain;
  plain.name = "plain.txt";
  plain.type = entry_type::file;
  plain.mtime_ns = 1'700'000'000'123'456'789;
  plain.size = 0x0102030405060708;
  result.push_back(plain);
  entry hashed;
  hashed.name = std::string("caf\xc3\xa9\xff\xfe", 6);
  hashed.type = entry_type::file;
  hashed.mtime_ns = -42; // before the epoch
  hashed.size = UINT64_MAX;
  hashed.sha256 = sample_digest();
  result.push_back(hashed);
  entry dir;
  dir.name = std::string("d\0ir", 4);
  dir.type = entry_type::dir;
  dir.mtime_ns = INT64_MIN;
  dir.items = 12345;
  result.push_back(dir);
  entry link;
  link.name = "link";
  link.type = entry_type::symlink;
  link.mtime_ns = INT64_MAX;
  link.target = std::string("../\x80target\0", 11);
  result.push_back(link);
  entry broken;
  broken.name = "\xed\xa0\x80";
  broken.type = entry_type::other;
  broken.error = entry_error{wire_code::permission_denied, "EACCES: nope"};
  result.push_back(broken);
  entry everything;
  everything.name = std::string(300, 'x');
  everything.type = entry_type::dir;
  everything.mtime_ns = 1;
  everything.size = 4096;
  everything.items = 0;
  everything.sha256 = sha256_digest{};
  everything.target = "";
  everything.error = entry_error{wire_code::not_readable, ""};
  result.push_back(everything);
  return result;
}

/// One or more samples of every message kind, with non-trivial values.
inline std::vector<message> sample_messages() {
  std::vector<message> result;
  result.emplace_back(
    hello{version, "node-1", "host.example", std::string("/srv/\xff\0data", 11),
          capability::list | capability::stat | capability::hash,
          "0123456789abcdef"});
  result.emplace_back(hello{0xfffe, "", "", "", 0, ""});
  result.emplace_back(
    welcome{0xdeadbeefcafebabe, -1'000'000'000, 10'000, default_max_frame});
  result.emplace_back(reject{wire_code::name_taken, "node-1 is taken"});
  result.emplace_back(heartbeat{UINT64_MAX, 1'712'345'678'000'000'000});
  result.emplace_back(heartbeat_ack{0x0102030405060708});
  result.emplace_back(goodbye{wire_code::shutdown, "server stops"});
  result.emplace_back(goodbye{wire_code::ok, ""});
  result.emplace_back(list_request{7, "/a/b c", list_flags::with_hashes});
  result.emplace_back(stat_request{UINT32_MAX, "/"});
  result.emplace_back(chunk_ack{0x01020304});
  result.emplace_back(cancel{99});
  result.emplace_back(entries_chunk{3, sample_entries()});
  result.emplace_back(entries_chunk{4, {}});
  result.emplace_back(list_end{3, 6, true});
  result.emplace_back(list_end{5, 0, false});
  for (auto& e : sample_entries())
    result.emplace_back(stat_reply{11, e});
  result.emplace_back(
    request_failed{12, wire_code::not_a_directory, "/a is a file"});
  result.emplace_back(du_request{13, std::string("/d\xff\0x", 5)});
  result.emplace_back(remove_request{14, "/a b", true});
  result.emplace_back(remove_request{15, "/f", false});
  result.emplace_back(notice{"new file: /x \xe2\x82\xac"});
  result.emplace_back(notice{""});
  result.emplace_back(echo_reply{"olleh"});
  result.emplace_back(du_reply{13, entry_type::dir, UINT64_MAX, 7, 3});
  result.emplace_back(du_reply{16, entry_type::file, 0, 1, 0});
  result.emplace_back(remove_reply{14, 0x0102030405060708});
  result.emplace_back(echo{std::string("he\0llo\xff", 7)});
  result.emplace_back(download_request{17, "/big file", 0});
  result.emplace_back(download_request{18, std::string("/\xff\0", 3),
                                       UINT64_MAX});
  result.emplace_back(upload_request{19, "/new", 65537});
  result.emplace_back(download_request{20, "/tree", 0, transfer_tree});
  result.emplace_back(upload_request{21, "/new tree", 0, transfer_tree});
  result.emplace_back(data_chunk{17, 0, ""});
  result.emplace_back(data_chunk{17, 65536, std::string(max_data_chunk, 'x')});
  result.emplace_back(data_chunk{19, 1, std::string("\0\xff", 2)});
  result.emplace_back(upload_end{19, 65537, sample_digest()});
  result.emplace_back(download_end{17, 0, sha256_digest{}});
  result.emplace_back(download_end{18, UINT64_MAX, sample_digest()});
  result.emplace_back(upload_reply{19, 65537});
  result.emplace_back(file_meta{19, 65537, 0600, 1700000000123456789});
  result.emplace_back(file_meta{20, 0, 07777, -1});
  result.emplace_back(list_progress{3, 0});
  result.emplace_back(list_progress{4, UINT64_MAX});
  result.emplace_back(hash_progress{5, "big.iso", 2u << 30, 1u << 30});
  result.emplace_back(hash_progress{6, "", UINT64_MAX, 0});
  {
    welcome w{1, 2, 3, default_max_frame};
    w.features = server_feature::list_progress;
    result.emplace_back(w);
  }
  {
    find_request f;
    f.id = 22;
    f.path = "/";
    result.emplace_back(f);
  }
  {
    find_request f;
    f.id = 23;
    f.path = std::string("/s\xff\0rc", 7);
    f.flags = find_flags::with_hashes;
    f.max_depth = 3;
    f.name_glob = "*.c";
    f.path_glob = std::string("a/*\xff", 5);
    f.types = find_types::file | find_types::symlink;
    f.min_size = 1025;
    f.max_size = UINT64_MAX;
    f.min_mtime_ns = INT64_MIN;
    f.max_mtime_ns = 1'700'000'000'000'000'000;
    f.sha256 = sample_digest();
    result.emplace_back(f);
  }
  {
    find_chunk c{24, {}};
    bool last = false;
    for (auto& e : sample_entries()) {
      c.matches.push_back(find_match{last, e});
      last = !last;
    }
    c.matches.front().item.name = "a/b/c";
    result.emplace_back(c);
  }
  result.emplace_back(find_chunk{25, {}});
  result.emplace_back(find_end{24, 6, UINT64_MAX});
  result.emplace_back(find_progress{24, 100000});
  return result;
}

// -- bytes --------------------------------------------------------------------

/// Returns the frame body of `msg` (its encoding without the length prefix).
inline bytes body_of(const message& msg) {
  auto frame = encode(msg).value();
  return bytes(frame.begin() + frame_header_size, frame.end());
}

/// Returns a frame (length prefix and body) around `body`.
inline bytes frame_of(const bytes& body) {
  auto n = static_cast<uint32_t>(body.size());
  bytes result{static_cast<uint8_t>(n >> 24), static_cast<uint8_t>(n >> 16),
               static_cast<uint8_t>(n >> 8), static_cast<uint8_t>(n)};
  result.insert(result.end(), body.begin(), body.end());
  return result;
}

inline outcome<message> decode(const bytes& body) {
  return decode_body(body.data(), body.size());
}

/// Returns the error message of a failed decode, or "" on success.
inline std::string decode_error(const bytes& body) {
  auto res = decode(body);
  return res ? std::string{} : res.error().message;
}

} // namespace dirscope::protocol::test
