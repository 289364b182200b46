#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include <fcntl.h>
#include <unistd.h>

#include "fixture.hpp"
#include "node/sha256.hpp"

using namespace dirscope;
using namespace dirscope::node;
using namespace dirscope::node::test;

namespace {

struct vector_case {
  std::string input;
  std::string digest;
};

// FIPS 180-2 appendix B test vectors.
std::vector<vector_case> known_vectors() {
  return {
    {"", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
    {"abc",
     "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
    {"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
     "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"},
    {std::string(1'000'000, 'a'),
     "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0"},
  };
}

outcome<protocol::sha256_digest> hash_file(const std::string& path) {
  unique_fd fd{::open(path.c_str(), O_RDONLY | O_CLOEXEC)};
  REQUIRE(fd);
  return sha256_fd(fd.get());
}

// Bytes that differ from block to block, so a dropped or repeated read
// would change the digest.
std::string patterned(size_t n) {
  std::string result(n, '\0');
  for (size_t i = 0; i < n; ++i)
    result[i] = static_cast<char>((i * 131 + i / 4096) & 0xff);
  return result;
}

} // namespace

TEST_CASE("sha256_bytes matches the FIPS 180-2 vectors", "[sha256]") {
  for (auto& x : known_vectors()) {
    INFO("input length " << x.input.size());
    CHECK(hex(sha256_bytes(x.input)) == x.digest);
  }
}

TEST_CASE("sha256_fd matches the FIPS 180-2 vectors", "[sha256]") {
  temp_tree tree;
  for (auto& x : known_vectors()) {
    INFO("input length " << x.input.size());
    auto path = tree.at("/vector");
    write_file(path, x.input);
    auto digest = hash_file(path);
    REQUIRE(digest);
    CHECK(hex(*digest) == x.digest);
  }
}

TEST_CASE("sha256_fd handles sizes around the read size", "[sha256]") {
  temp_tree tree;
  auto size = GENERATE(size_t{0}, size_t{1}, hash_read_size - 1,
                       hash_read_size, hash_read_size + 1,
                       3 * hash_read_size + 17);
  INFO("size " << size);
  auto content = patterned(size);
  auto path = tree.at("/data");
  write_file(path, content);
  auto digest = hash_file(path);
  REQUIRE(digest);
  CHECK(*digest == sha256_bytes(content));
}

TEST_CASE("sha256_fd hashes from the current offset", "[sha256]") {
  temp_tree tree;
  auto path = tree.at("/data");
  write_file(path, "skipped|hashed");
  unique_fd fd{::open(path.c_str(), O_RDONLY | O_CLOEXEC)};
  REQUIRE(fd);
  REQUIRE(::lseek(fd.get(), 8, SEEK_SET) == 8);
  auto digest = sha256_fd(fd.get());
  REQUIRE(digest);
  CHECK(*digest == sha256_bytes("hashed"));
}

TEST_CASE("sha256_fd fails with io_error when reading fails", "[sha256]") {
  temp_tree tree;
  SECTION("a directory") {
    unique_fd fd{::open(tree.root().c_str(), O_RDONLY | O_DIRECTORY)};
    REQUIRE(fd);
    auto digest = sha256_fd(fd.get());
    REQUIRE_FALSE(digest);
    CHECK(digest.error().code == wire_code::io_error);
  }
  SECTION("a closed fd") {
    auto digest = sha256_fd(-1);
    REQUIRE_FALSE(digest);
    CHECK(digest.error().code == wire_code::io_error);
  }
}

TEST_CASE("sha256_hasher fed in pieces matches the whole", "[sha256]") {
  auto content = patterned(3 * hash_read_size + 17);
  auto piece = GENERATE(size_t{1}, size_t{63}, size_t{64}, hash_read_size);
  INFO("piece " << piece);
  sha256_hasher hash;
  for (size_t at = 0; at < content.size(); at += piece)
    hash.update(std::string_view{content}.substr(at, piece));
  CHECK(hash.finish() == sha256_bytes(content));
}

TEST_CASE("sha256_hasher starts over after finish", "[sha256]") {
  sha256_hasher hash;
  hash.update("skipped");
  hash.finish();
  hash.update("abc");
  CHECK(hex(hash.finish())
        == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}
