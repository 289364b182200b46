#include <catch2/catch.hpp>

#include <set>

#include "protocol/codec.hpp"
#include "test_support.hpp"

using namespace dirscope;
using namespace dirscope::protocol;
using namespace dirscope::protocol::test;

TEST_CASE("samples cover every message kind", "[codec]") {
  std::set<size_t> kinds;
  for (auto& msg : sample_messages())
    kinds.insert(msg.index());
  CHECK(kinds.size() == std::variant_size_v<message>);
}

TEST_CASE("every message kind survives a round trip", "[codec]") {
  for (auto& msg : sample_messages()) {
    INFO("message kind: " << name_of(msg));
    auto frame = encode(msg).value();
    REQUIRE(frame.size() > frame_header_size);
    auto body_size = (size_t{frame[0]} << 24) | (size_t{frame[1]} << 16)
                     | (size_t{frame[2]} << 8) | size_t{frame[3]};
    REQUIRE(body_size == frame.size() - frame_header_size);
    auto res = decode_body(frame.data() + frame_header_size, body_size);
    REQUIRE(res.ok());
    CHECK(equal(*res, msg));
    CHECK(encode(*res).value() == frame);
  }
}

TEST_CASE("encode appends to an existing buffer", "[codec]") {
  bytes out{0xaa, 0xbb};
  REQUIRE(encode(cancel{1}, out));
  auto alone = encode(cancel{1}).value();
  REQUIRE(out.size() == 2 + alone.size());
  CHECK(out[0] == 0xaa);
  CHECK(out[1] == 0xbb);
  CHECK(bytes(out.begin() + 2, out.end()) == alone);
}

TEST_CASE("tags and names are fixed", "[codec]") {
  struct expectation {
    message msg;
    uint8_t tag;
    const char* name;
  };
  std::vector<expectation> table{
    {hello{}, 1, "hello"},
    {welcome{}, 2, "welcome"},
    {reject{}, 3, "reject"},
    {heartbeat{}, 4, "heartbeat"},
    {heartbeat_ack{}, 5, "heartbeat_ack"},
    {goodbye{}, 6, "goodbye"},
    {list_request{}, 16, "list_request"},
    {stat_request{}, 17, "stat_request"},
    {chunk_ack{}, 18, "chunk_ack"},
    {cancel{}, 19, "cancel"},
    {entries_chunk{}, 32, "entries_chunk"},
    {list_end{}, 33, "list_end"},
    {stat_reply{}, 34, "stat_reply"},
    {request_failed{}, 35, "request_failed"},
    {du_request{}, 20, "du_request"},
    {remove_request{}, 21, "remove_request"},
    {notice{}, 22, "notice"},
    {echo_reply{}, 23, "echo_reply"},
    {du_reply{}, 36, "du_reply"},
    {remove_reply{}, 37, "remove_reply"},
    {echo{}, 38, "echo"},
    {download_request{}, 24, "download_request"},
    {upload_request{}, 25, "upload_request"},
    {upload_end{}, 26, "upload_end"},
    {data_chunk{}, 27, "data_chunk"},
    {download_end{}, 39, "download_end"},
    {upload_reply{}, 40, "upload_reply"},
    {file_meta{}, 28, "file_meta"},
    {list_progress{}, 41, "list_progress"},
    {hash_progress{}, 45, "hash_progress"},
    {find_request{}, 50, "find_request"},
    {find_chunk{}, 51, "find_chunk"},
    {find_end{}, 52, "find_end"},
    {find_progress{}, 53, "find_progress"},
  };
  REQUIRE(table.size() == std::variant_size_v<message>);
  for (auto& x : table) {
    INFO("message kind: " << x.name);
    CHECK(static_cast<uint8_t>(tag_of(x.msg)) == x.tag);
    CHECK(std::string{name_of(x.msg)} == x.name);
    CHECK(body_of(x.msg).front() == x.tag);
  }
}

// -- exact layouts ------------------------------------------------------------

TEST_CASE("heartbeat_ack layout", "[codec][layout]") {
  bytes expected{0, 0, 0, 9, 5, 1, 2, 3, 4, 5, 6, 7, 8};
  CHECK(encode(heartbeat_ack{0x0102030405060708}).value() == expected);
}

TEST_CASE("hello layout starts with the magic", "[codec][layout]") {
  // clang-format off
  bytes expected{
    0,   0,   0,   31,       // length
    1,                       // tag
    'D', 'S', 'C', 'P',      // magic
    0,   1,                  // version
    0,   0,   0,   1,   'n', // node_name
    0,   0,   0,   1,   'h', // hostname
    0,   0,   0,   1,   '/', // root
    0,   0,   0,   7,        // capabilities
    0,   0,   0,   1,   't', // token
  };
  // clang-format on
  CHECK(encode(hello{1, "n", "h", "/", 7, "t"}).value() == expected);
}

TEST_CASE("welcome layout", "[codec][layout]") {
  // clang-format off
  bytes expected{
    0,    0,    0,    25,                         // length
    2,                                            // tag
    0,    0,    0,    0,    0,    0,    0,    9,    // session_id
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe, // server_time_ns
    0,    0,    0x27, 0x10,                         // heartbeat_ms
    0,    0x10, 0,    0,                            // max_frame
  };
  // clang-format on
  CHECK(encode(welcome{9, -2, 10000, 1u << 20}).value() == expected);
}

TEST_CASE("welcome carries features only when set", "[codec][layout]") {
  // An older node refuses trailing bytes: the server adds the field only for
  // nodes that announced capability::features.
  welcome w{9, -2, 10000, 1u << 20};
  auto plain = encode(w).value();
  w.features = server_feature::list_progress;
  auto with = encode(w).value();
  REQUIRE(with.size() == plain.size() + 4);
  CHECK(with[3] == 29);
  CHECK(bytes(with.end() - 4, with.end()) == bytes{0, 0, 0, 1});
  auto back = decode_body(with.data() + 4, with.size() - 4).value();
  CHECK(std::get<welcome>(back).features == server_feature::list_progress);
  auto old = decode_body(plain.data() + 4, plain.size() - 4).value();
  CHECK(!std::get<welcome>(old).features);
}

TEST_CASE("list_progress layout", "[codec][layout]") {
  bytes expected{0, 0, 0, 13, 41, 0, 0, 0, 7, 0, 0, 0, 0, 0, 0, 1, 2};
  CHECK(encode(list_progress{7, 258}).value() == expected);
}

TEST_CASE("list_request layout", "[codec][layout]") {
  bytes expected{0, 0, 0, 12, 16, 0, 0, 0, 7, 0, 0, 0, 2, '/', 'a', 1};
  CHECK(encode(list_request{7, "/a", 1}).value() == expected);
}

TEST_CASE("list_end layout", "[codec][layout]") {
  bytes expected{0, 0, 0, 14, 33, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 2, 1};
  CHECK(encode(list_end{1, 2, true}).value() == expected);
}

TEST_CASE("request_failed layout", "[codec][layout]") {
  bytes expected{0, 0, 0, 12, 35, 0, 0, 0, 5, 0, 1, 0, 0, 0, 1, 'x'};
  CHECK(encode(request_failed{5, wire_code::not_found, "x"}).value() == expected);
}

TEST_CASE("entry layout inside entries_chunk", "[codec][layout]") {
  entry e;
  e.name = "a";
  e.type = entry_type::dir;
  e.mtime_ns = -1;
  e.size = 2;
  e.items = 3;
  e.target = "t";
  e.error = entry_error{wire_code::not_found, "m"};
  // clang-format off
  bytes expected{
    32,                                                 // tag
    0,    0,    0,    4,                                // id
    0,    0,    0,    1,                                // count
    0,    0,    0,    1,    'a',                        // name
    1,                                                  // type
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,     // mtime_ns
    0,    0,    0,    0,    0,    0,    0,    2,        // size
    1,    0,    0,    0,    0,    0,    0,    0,    3,  // items
    0,                                                  // sha256 absent
    1,    0,    0,    0,    1,    't',                  // target
    1,    0,    1,    0,    0,    0,    1,    'm',      // error
  };
  // clang-format on
  CHECK(body_of(entries_chunk{4, {e}}) == expected);
  CHECK(encoded_size(e) == expected.size() - 9);
}

TEST_CASE("sha256 travels as 32 raw bytes", "[codec][layout]") {
  entry e;
  e.sha256 = sample_digest();
  auto body = body_of(stat_reply{1, e});
  // tag, id, name length, type, mtime, size, items flag, sha256 flag
  size_t at = 1 + 4 + 4 + 1 + 8 + 8 + 1 + 1;
  REQUIRE(body.size() == at + 32 + 2);
  CHECK(body[at - 1] == 1);
  CHECK(std::equal(e.sha256->begin(), e.sha256->end(), body.begin() + at));
}

// -- encoded_size -------------------------------------------------------------

TEST_CASE("encoded_size matches the encoding", "[codec]") {
  auto empty = body_of(entries_chunk{1, {}}).size();
  size_t total = 0;
  for (auto& e : sample_entries()) {
    INFO("entry name: " << e.name);
    auto with_one = body_of(entries_chunk{1, {e}}).size();
    CHECK(encoded_size(e) == with_one - empty);
    // stat_reply carries the same entry encoding.
    CHECK(encoded_size(e) == body_of(stat_reply{1, e}).size() - 5);
    total += encoded_size(e);
  }
  CHECK(body_of(entries_chunk{1, sample_entries()}).size() == empty + total);
  CHECK(encoded_size(entry{}) == 25);
}

TEST_CASE("a full chunk fits the smallest frame limit", "[codec]") {
  // The documented budget: a client closes a chunk at chunk_byte_budget, so
  // the largest chunk is just below the budget plus one entry.
  entry big;
  big.name = std::string(255, 'n');
  big.sha256 = sample_digest();
  big.target = std::string(4095, 't');
  big.error = entry_error{wire_code::io_error, std::string(200, 'e')};
  big.items = 1;
  REQUIRE(chunk_byte_budget + encoded_size(big) + 9 < min_frame_limit);
}

TEST_CASE("du_reply layout", "[codec][layout]") {
  CHECK(body_of(du_reply{1, entry_type::dir, 2, 3, 4})
        == bytes{36, 0, 0, 0, 1, 1, 0, 0, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0,
                 0, 0, 0, 3, 0, 0, 0, 0, 0, 0, 0, 4});
}

TEST_CASE("remove_request layout", "[codec][layout]") {
  CHECK(body_of(remove_request{7, "/a", true})
        == bytes{21, 0, 0, 0, 7, 0, 0, 0, 2, '/', 'a', 1});
}

TEST_CASE("notice and echo layouts", "[codec][layout]") {
  CHECK(body_of(notice{"hi"}) == bytes{22, 0, 0, 0, 2, 'h', 'i'});
  CHECK(body_of(echo{"hi"}) == bytes{38, 0, 0, 0, 2, 'h', 'i'});
  CHECK(body_of(echo_reply{"ih"}) == bytes{23, 0, 0, 0, 2, 'i', 'h'});
}

TEST_CASE("transfer layouts", "[codec][layout]") {
  CHECK(body_of(download_request{7, "/a", 258})
        == bytes{24, 0, 0, 0, 7, 0, 0, 0, 2, '/', 'a', 0, 0, 0, 0, 0, 0, 1, 2,
                 0});
  CHECK(body_of(upload_request{7, "/a", 3, transfer_tree})
        == bytes{25, 0, 0, 0, 7, 0, 0, 0, 2, '/', 'a', 0, 0, 0, 0, 0, 0, 0, 3,
                 1});
  CHECK(body_of(data_chunk{7, 1, "xy"})
        == bytes{27, 0, 0, 0, 7, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 2, 'x',
                 'y'});
  CHECK(body_of(upload_reply{7, 9})
        == bytes{40, 0, 0, 0, 7, 0, 0, 0, 0, 0, 0, 0, 9});
  CHECK(body_of(file_meta{7, 3, 0640, 258})
        == bytes{28, 0, 0, 0, 7, 0, 0, 0, 0, 0, 0, 0, 3, 0, 0, 1, 0xa0, 0, 0,
                 0, 0, 0, 0, 1, 2});
  auto end = body_of(download_end{7, 1, sample_digest()});
  REQUIRE(end.size() == 1 + 4 + 8 + 32);
  CHECK(end[0] == 39);
  CHECK(std::equal(end.begin() + 13, end.end(), sample_digest().begin()));
  CHECK(body_of(upload_end{7, 1, sample_digest()}).size() == 45);
}

TEST_CASE("a full data_chunk fits the smallest frame limit", "[codec]") {
  auto frame = encode(data_chunk{UINT32_MAX, UINT64_MAX,
                                 std::string(max_data_chunk, 'x')}).value();
  CHECK(frame.size() - frame_header_size <= min_frame_limit);
}

TEST_CASE("file_meta refuses mode bits beyond 07777", "[codec][malformed]") {
  auto body = body_of(file_meta{7, 1, 0644, 0});
  body[13] = 0x10; // mode 0x10000000 | 0644
  CHECK_FALSE(decode_body(body.data(), body.size()));
}
