// Writes the seed corpora of every harness into <dir>/<harness>/: frames
// and bodies of the unit tests' sample messages, names, paths and command
// lines, captured TLS flights, and hand-made tar archives (benign and
// hostile). Seeds are generated, not checked in, so they follow the code.
//
// Usage: make_seeds DIR

#include <archive.h>
#include <archive_entry.h>
#include <sys/stat.h>

#include <cstdio>
#include <cstring>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "fuzz/tls_peers.hpp"
#include "protocol/codec.hpp"
#include "shell/command.hpp"
#include "tests/unit/protocol/test_support.hpp"

using namespace dirscope;
using namespace dirscope::protocol;

namespace {

std::string out_dir;

void put(const std::string& harness, const std::string& data) {
  static std::map<std::string, int> counts;
  auto dir = out_dir + "/" + harness;
  ::mkdir(dir.c_str(), 0755);
  auto path = dir + "/seed-" + std::to_string(counts[harness]++);
  std::ofstream out{path, std::ios::binary};
  out.write(data.data(), static_cast<std::streamsize>(data.size()));
  if (!out) {
    std::fprintf(stderr, "make_seeds: cannot write %s\n", path.c_str());
    std::exit(1);
  }
}

std::string str(const std::vector<uint8_t>& x) {
  return std::string(x.begin(), x.end());
}

void protocol_seeds() {
  std::string stream;
  for (auto& msg : test::sample_messages()) {
    auto frame = encode(msg).value();
    put("fuzz_message", str(test::body_of(msg)));
    put("fuzz_frame", std::string(1, '\x01') + str(frame));
    stream += str(frame);
  }
  // All samples in one stream, in pieces of 1 and of 1 + 7 * 9 bytes.
  put("fuzz_frame", std::string(1, '\x01') + stream);
  put("fuzz_frame", std::string(1, '\x25') + stream);
  put("fuzz_frame", std::string(1, '\x00') + stream);
}

void text_seeds() {
  for (auto& e : test::sample_entries()) {
    put("fuzz_names", e.name);
    if (e.target)
      put("fuzz_names", *e.target);
  }
  for (const char* x : {"caf\xc3\xa9.txt", "a\\\\b", "\\x41\\xff", "\x1b]0;x\x07",
                        "\xc2\x85", "\xed\xa0\x80", "\xf4\x90\x80\x80",
                        "\xe2\x82\xac\xf0\x9f\x98\x80", "\\x", "\\xg1"})
    put("fuzz_names", x);
  for (const char* x : {"/", "/a/b", "/\n..", "/a/b\n../../c", "x/./y//z",
                        "/a\n/b/..", "/a/b/", "//", "/..", "/a/./b",
                        "/d\xff\n\\xff"})
    put("fuzz_paths", x);
  for (auto& spec : shell::command_table()) {
    put("fuzz_command", std::string{spec.usage});
    put("fuzz_command", std::string{spec.name});
  }
  for (const char* x : {"ls --json n1:/docs", "get --all '/my file' \"x y\"",
                        "wait-nodes 2 --timeout 1e12", "tree --depth 3 /",
                        "ls -- --odd-name", "rm my\\ file", "cd n1:/a\\xff",
                        "broadcast 'unterminated", "help ls"})
    put("fuzz_command", x);
}

void tls_seeds() {
  auto& peers = fuzz::tls_peers::get();
  auto server = std::move(tls::session::make(peers.server).value());
  auto client = std::move(tls::session::make(peers.client).value());
  std::vector<uint8_t> hello;
  client->drain(hello);
  put("fuzz_tls", std::string(1, '\x00') + str(hello));
  std::vector<uint8_t> plain;
  (void) server->feed(hello.data(), hello.size(), plain);
  std::vector<uint8_t> flight;
  server->drain(flight);
  put("fuzz_tls", std::string(1, '\x01') + str(flight));
  fuzz::pump(*client, *server);
  const uint8_t text[] = "some application data";
  std::vector<uint8_t> record;
  (void) client->write(text, sizeof(text));
  client->drain(record);
  put("fuzz_tls", std::string(1, '\x02') + str(record));
  record.clear();
  (void) server->write(text, sizeof(text));
  server->close();
  server->drain(record);
  put("fuzz_tls", std::string(1, '\x03') + str(record));
}

struct tar_entry {
  std::string name;
  mode_t type;
  std::string data; ///< file content or link target
  mode_t perm = 0644;
};

/// A tar archive made by hand, raw (gzip = false) or gzip-compressed.
std::string make_tar(const std::vector<tar_entry>& entries, bool gzip) {
  std::string out;
  auto a = archive_write_new();
  if (gzip)
    archive_write_add_filter_gzip(a);
  archive_write_set_format_pax_restricted(a);
  archive_write_set_bytes_in_last_block(a, 1);
  archive_write_open(
    a, &out, nullptr,
    [](archive*, void* self, const void* buf, size_t n) -> la_ssize_t {
      static_cast<std::string*>(self)->append(static_cast<const char*>(buf),
                                              n);
      return static_cast<la_ssize_t>(n);
    },
    nullptr);
  for (auto& x : entries) {
    auto e = archive_entry_new();
    archive_entry_copy_pathname(e, x.name.c_str());
    archive_entry_set_filetype(e, x.type);
    archive_entry_set_perm(e, x.perm);
    if (x.type == AE_IFLNK)
      archive_entry_copy_symlink(e, x.data.c_str());
    archive_entry_set_size(e, x.type == AE_IFREG ? x.data.size() : 0);
    archive_write_header(a, e);
    if (x.type == AE_IFREG)
      archive_write_data(a, x.data.data(), x.data.size());
    archive_entry_free(e);
  }
  archive_write_close(a);
  archive_write_free(a);
  return out;
}

void tar_seeds() {
  std::vector<std::vector<tar_entry>> archives{
    {{".", AE_IFDIR, "", 0755},
     {"a", AE_IFDIR, "", 0755},
     {"a/f.txt", AE_IFREG, "hello\n"},
     {"a/link", AE_IFLNK, "f.txt"},
     {"empty", AE_IFREG, ""}},
    {{"out", AE_IFLNK, "../../outside"}, {"out/pwned", AE_IFREG, "x"}},
    {{"../escape", AE_IFREG, "x"}},
    {{"/abs", AE_IFREG, "x"}},
    {{"d", AE_IFDIR, "", 0}, {"d/f", AE_IFREG, "x", 0}},
    {{"s", AE_IFREG, "x", 06755}, {"w", AE_IFDIR, "", 01777}},
    {{"fifo", AE_IFIFO, ""}},
    {{"dup", AE_IFREG, "1"}, {"dup", AE_IFREG, "2"}, {"dup", AE_IFDIR, ""}},
    {{"l", AE_IFLNK, "/"}, {"l/etc", AE_IFDIR, ""}},
  };
  for (auto& entries : archives) {
    put("fuzz_tar", std::string(1, '\x01') + make_tar(entries, false));
    put("fuzz_tar", std::string(1, '\x00') + make_tar(entries, true));
  }
}

} // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: make_seeds DIR\n");
    return 2;
  }
  out_dir = argv[1];
  ::mkdir(out_dir.c_str(), 0755);
  protocol_seeds();
  text_seeds();
  tls_seeds();
  tar_seeds();
  return 0;
}
