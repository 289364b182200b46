#include "shell/completion.hpp"

#include <catch2/catch.hpp>

#include "protocol/names.hpp"
#include "shell/command.hpp"

using namespace dirscope;
using namespace dirscope::shell;

TEST_CASE("the word at the end of a line", "[shell][completion]") {
  CHECK(word_at_end("").index == 0);
  CHECK(word_at_end("").typed.empty());
  CHECK(word_at_end("l").typed == "l");
  auto w = word_at_end("ls web1:/e");
  CHECK(w.index == 1);
  CHECK(w.typed == "web1:/e");
  CHECK(word_at_end("ls ").index == 1);
  CHECK(word_at_end("ls ").typed.empty());
  CHECK(word_at_end("get  a  b").index == 2);
  // An escaped space stays in the word.
  w = word_at_end("ls /with\\ sp");
  CHECK(w.index == 1);
  CHECK(w.typed == "/with\\ sp");
  // Quotes are not completed: escapes are the one spelling we write.
  CHECK(word_at_end("ls \"with sp").quoted);
  CHECK(word_at_end("ls 'a b' c").typed == "c");
  CHECK_FALSE(word_at_end("ls 'a b' c").quoted);
}

TEST_CASE("a remote word splits like the console's NODE:PATH",
          "[shell][completion]") {
  auto x = split_remote("web1:/etc/ho");
  REQUIRE(x);
  CHECK(x->node == "web1");
  CHECK(x->typed_dir == "web1:/etc/");
  CHECK(x->dir == "/etc/");
  CHECK(x->name == "ho");
  x = split_remote("web1:");
  REQUIRE(x);
  CHECK(x->node == "web1");
  CHECK(x->typed_dir == "web1:");
  CHECK(x->dir.empty());
  CHECK(x->name.empty());
  // Relative, and a colon after a slash is part of a name.
  x = split_remote("sub/a:b");
  REQUIRE(x);
  CHECK(x->node.empty());
  CHECK(x->typed_dir == "sub/");
  CHECK(x->name == "a:b");
  // Escapes are decoded to the raw bytes a listing holds.
  x = split_remote("n:/caf\\xe9/with\\ sp");
  REQUIRE(x);
  CHECK(x->dir == "/caf\xe9/");
  CHECK(x->name == "with sp");
  CHECK(x->typed_dir == "n:/caf\\xe9/");
  // An escape typed half-way cannot be completed.
  CHECK_FALSE(split_remote("n:/caf\\x"));
}

TEST_CASE("a completed name is typed back as the shell reads it",
          "[shell][completion]") {
  CHECK(escape_word("plain.txt") == "plain.txt");
  CHECK(escape_word("with space") == "with\\ space");
  CHECK(escape_word("q\"'") == "q\\\"\\'");
  CHECK(escape_word("caf\xe9") == "caf\\xe9");
  CHECK(escape_word("back\\slash") == "back\\\\slash");
  // Round trip: the shell's tokenizer and unescape give the raw name back.
  for (std::string raw : {"with space", "q\"'x", "caf\xe9", "a\\b", "t\tab"}) {
    auto words = tokenize("ls " + escape_word(raw));
    REQUIRE(words);
    REQUIRE(words->size() == 2);
    CHECK(protocol::unescape_name((*words)[1]) == raw);
  }
}

TEST_CASE("command names complete from the table", "[shell][completion]") {
  CHECK(complete_commands("hel") == std::vector<std::string>{"help"});
  auto all = complete_commands("");
  CHECK(all.size() >= command_table().size());
  CHECK(std::is_sorted(all.begin(), all.end()));
  CHECK(complete_commands("zzz").empty());
}
