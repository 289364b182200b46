#include "shell/command.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <limits>

#include "protocol/names.hpp"

namespace dirscope::shell {

namespace {

// -- the command table --------------------------------------------------------

constexpr std::string_view path_notes
  = "PATH is relative to the node's root: / is the root, a relative PATH\n"
    "starts at the current directory, and .. never leaves the root. A\n"
    "PATH may name its node scp-style, as in n1:/docs (cd then also makes\n"
    "n1 the current node). Names with odd bytes are shown with \\xNN\n"
    "escapes (a backslash as \\\\) and can be typed the same way. Quote\n"
    "names with spaces (\"my file\" or 'my file') or escape the space\n"
    "(my\\ file). A lone -- ends the options, e.g. ls -- --odd-name.\n"
    "ls, stat, du, find, tree, cat, head and tail also take several nodes:\n"
    "all:/etc (or *:/etc) is every node, web*:/etc the nodes whose name\n"
    "matches a glob, {web1,db2}:/etc those listed (names or globs). Each\n"
    "node runs it at once (at most fleet-parallel, 64, at a time); its\n"
    "text lines start with its name (web1: ...), --json objects carry\n"
    "\"node\"; a node that fails or times out gets one line (stderr when\n"
    "piped); a summary ends it: 3 nodes answered, 1 failed, 0 timed out\n"
    "(stderr with --json). Piped, such a command fails (exit 1) if a node\n"
    "failed or timed out. rm asks once, naming how many nodes it will\n"
    "touch, and so does put; get and cd into a file take one node.\n"
    "In ls, stat, get and rm a PATH may hold globs (*, ? and [...]) in any\n"
    "component, as in ls n1:/var/log/*.log: the node walks beneath its root\n"
    "(never through a symlink); * and ? never match / or a leading dot;\n"
    "get puts the matches into LOCAL as a directory; rm lists what matches\n"
    "before it asks. Globs take one node.\n"
    "At a terminal, Tab completes command names, node names (n1:) and\n"
    "remote paths, escaping names as they must be typed.\n";

std::vector<command_spec> make_table() {
  std::vector<command_spec> result;
  result.push_back(command_spec{
    "nodes",
    {},
    0,
    64,
    {"json", "count"},
    {"match"},
    "nodes [GLOB] [--match T] [--json]",
    "list nodes (--count: the summary only)",
    "Lists connected nodes in name order: session id, name, peer\n"
    "address:port, the node's root directory on its own machine, when it\n"
    "connected and when it last answered a heartbeat (- if it has not yet),\n"
    "then a summary line that counts them by state: up (answered within two\n"
    "heartbeat intervals), late (has not; it is dropped after\n"
    "heartbeat-misses intervals) and joining (connected, no hello yet).\n"
    "GLOB keeps the nodes whose name matches it (* any text, ? one\n"
    "character, [abc] one of; several GLOBs: any of them). --match T\n"
    "keeps the nodes where the text T occurs, ignoring ASCII\n"
    "case, in the name, hostname, address:port, root, policy or client\n"
    "certificate name. --count prints the summary line only.\n"
    "With --json, prints one JSON object per node and line (no summary);\n"
    "with --count --json one object with keys matching, total, up, late\n"
    "and joining.\n"
    "\n"
    "Examples:\n"
    "  nodes\n"
    "  nodes web* db-?\n"
    "  nodes --match 10.0.3. --count\n"
    "  nodes --json\n",
  });
  result.push_back(command_spec{
    "use",
    {},
    1,
    1,
    {},
    {},
    "use NODE|SELECTOR",
    "make NODE (or a set: web*, all) current",
    "Makes NODE the current node, so that paths without a node prefix refer\n"
    "to it. NODE is a node's name or its numeric id as shown by 'nodes'.\n"
    "A selector (all, a glob such as web*, or {web1,db2}) makes that set\n"
    "current: ls, stat, du, find, tree, cat, head and tail without a node\n"
    "then run on every node the selector names when the command starts;\n"
    "cd changes the set's directory without checking it (the prompt shows\n"
    "web*:/etc). A node named like a keyword is reached as {all}.\n"
    "\n"
    "Examples:\n"
    "  use n1\n"
    "  use 3\n"
    "  use web*\n"
    "  use {web1,db2}\n",
  });
  result.push_back(command_spec{
    "pwd",
    {},
    0,
    0,
    {},
    {},
    "pwd",
    "show current node and directory",
    "Shows the current node and directory as NODE:PATH, e.g. n1:/docs.\n",
  });
  result.push_back(command_spec{
    "cd",
    {},
    1,
    1,
    {},
    {},
    "cd PATH",
    "change directory, e.g. cd n1:/docs",
    "Changes the current directory. If PATH names a node (n1:/docs), that\n"
    "node also becomes the current node. The directory must exist.\n"
    "\n"
    "Examples:\n"
    "  cd /docs\n"
    "  cd ..\n"
    "  cd n2:/var/log\n"
    "  cd \"My Documents\"\n",
  });
  result.push_back(command_spec{
    "ls",
    {},
    0,
    1,
    {"json", "human", "reverse", "no-hash"},
    {"sort"},
    "ls [PATH] [-h] [-r] [--sort name|size|mtime] [--no-hash] [--json]",
    "list a directory: sizes, items, SHA-256",
    "Lists the directory PATH (default: the current directory). Each row\n"
    "shows the entry's type, modification time (server's local time), size\n"
    "in bytes, then the number of items for a directory, the SHA-256 for a\n"
    "file or the error for an entry that could not be read, and the name\n"
    "last (symlinks as name -> target).\n"
    "Rows come in name order as the node reads them. A file whose hash\n"
    "takes long (a large file) does not hold up the others: its row\n"
    "follows once its hash is done, and on a terminal a progress line\n"
    "shows how far the hash got.\n"
    "  -h (--human)    sizes as 4.0K, 1.5M, 2.0G (powers of 1024)\n"
    "  --sort KEY      name (A-Z), size (largest first) or mtime (newest\n"
    "                  first); sorted rows appear once all have arrived\n"
    "  -r (--reverse)  reverse the order (alone: names Z-A)\n"
    "  --no-hash       no SHA-256: the node reads no file, so the listing\n"
    "                  is immediate even beside huge files\n"
    "  --json          one JSON object per entry and line, with keys node,\n"
    "                  path (the directory holding the entry), name, type,\n"
    "                  mtime (RFC 3339), size and items, sha256 or target,\n"
    "                  plus error and error_code when the entry could not\n"
    "                  be read; sizes stay in bytes\n"
    "On a terminal, rows fit its width (the SHA-256 is shortened, ending in\n"
    "\u2026; ls --json or a pipe shows it whole) and names of directories\n"
    "and symlinks are coloured (not with NO_COLOR set); pipes and --json\n"
    "get neither.\n"
    "\n"
    "Examples:\n"
    "  ls\n"
    "  ls /docs -h --sort size\n"
    "  ls n1:/ --json\n"
    "  ls /var/images --no-hash\n"
    "  ls 'with space/caf\\xe9'\n",
    {{'h', "human"}, {'r', "reverse"}},
  });
  result.push_back(command_spec{
    "stat",
    {},
    1,
    1,
    {"json"},
    {},
    "stat PATH [--json]",
    "describe one entry",
    "Describes the single entry at PATH: type, size, modification time and\n"
    "the item count, SHA-256 or symlink target. Symlinks are not followed.\n"
    "With --json, prints one JSON object with the keys of ls --json, but\n"
    "path is the entry's own path, as in the text form.\n"
    "\n"
    "Examples:\n"
    "  stat a.txt\n"
    "  stat n1:/docs --json\n",
  });
  result.push_back(command_spec{
    "tree",
    {},
    0,
    1,
    {"json"},
    {"depth"},
    "tree [PATH] [--depth N] [--json]",
    "show a directory tree (default depth 3)",
    "Shows the directory PATH (default: the current directory) and what\n"
    "lies below it, down to N levels (default 3; --depth 1 is like ls).\n"
    "Symlinks are shown, never followed. The node walks the tree itself and\n"
    "streams it (nodes older than find: one listing per directory).\n"
    "With --json, prints one JSON object per entry and line, as ls --json.\n"
    "\n"
    "Examples:\n"
    "  tree\n"
    "  tree /src --depth 2\n"
    "  tree n1:/ --depth=1 --json\n",
  });
  result.push_back(command_spec{
    "find",
    {},
    0,
    1,
    {"hash", "json"},
    {"name", "path", "type", "size", "newer", "mtime", "sha256", "max-depth"},
    "find [PATH] [--name GLOB] [--type f|d|l] [--size +N] [--mtime -7d] [...]",
    "search a tree on the node",
    "find [NODE:]PATH [--name GLOB] [--path GLOB] [--type f|d|l|o]\n"
    "     [--size +N|-N] [--newer TIME | --mtime -7d] [--sha256 HEX]\n"
    "     [--max-depth N] [--hash] [--json]\n"
    "Walks the tree at PATH on its node (default: the current directory)\n"
    "and shows every entry that passes all the filters given, one row per\n"
    "match as ls shows it, named by its path relative to PATH (. is PATH\n"
    "itself), then how many matched. The walk runs on the node, never\n"
    "follows a symlink and never leaves the node's root; an unreadable\n"
    "directory shows up with its error and the walk goes on.\n"
    "  --name GLOB    the entry's name matches GLOB (* ? [..], as find -name)\n"
    "  --path GLOB    its path relative to PATH matches GLOB (* matches /)\n"
    "  --type T       f file, d directory, l symlink, o other; f,d for both\n"
    "  --size +N      larger than N bytes; -N smaller; N exactly (k, M, G:\n"
    "                 KiB, MiB, GiB). Write --size=-1k or --size -1k.\n"
    "  --newer TIME   modified after TIME: YYYY-MM-DD[THH:MM[:SS]] in the\n"
    "                 server's time zone, with Z in UTC, or @SECONDS\n"
    "  --mtime -N     modified less than N ago (+N: more than N ago; N:\n"
    "                 between N and N+1 ago); units s m h d w, default d\n"
    "  --sha256 HEX   regular files with this content (hashed on the node\n"
    "                 through its hash cache)\n"
    "  --max-depth N  at most N levels below PATH (0: PATH itself)\n"
    "  --hash         show the SHA-256 of matching files\n"
    "Names are shown escaped as ls shows them; globs take the same escapes\n"
    "(\\xNN for a byte). With --json, one JSON object per match with the\n"
    "keys of ls --json (path is the match's directory on the node).\n"
    "Ctrl-C stops the walk on the node. Nodes older than this server's\n"
    "find answer with an error saying so.\n"
    "\n"
    "On several nodes (find all:/ --sha256 HEX: where is this file?) each\n"
    "row starts with its node's name and the summary adds the matches.\n"
    "\n"
    "Examples:\n"
    "  find n1:/etc --name passwd\n"
    "  find all:/etc --name passwd\n"
    "  find /var/log --type f --size +100M --mtime -7d\n"
    "  find n1:/ --sha256 e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\n"
    "  find /src --path 'lib/*.c' --hash --json\n",
  });
  result.push_back(command_spec{
    "du",
    {"size"},
    1,
    1,
    {},
    {},
    "du PATH",
    "size of a file or a tree (alias: size)",
    "Shows the size of the file at PATH, or for a directory the total size\n"
    "of the regular files beneath it and how many files and directories\n"
    "it holds, counted on the node. Symlinks are counted, never followed.\n"
    "\n"
    "Examples:\n"
    "  du n1:/var/log\n"
    "  size big.iso\n",
  });
  result.push_back(command_spec{
    "rm",
    {},
    1,
    1,
    {"recursive", "yes"},
    {},
    "rm PATH [-r] [-y]",
    "delete a file, or a directory with -r",
    "Deletes PATH on its node. First says what PATH is (a file and its\n"
    "size, a directory and how many items it holds, or nothing at all),\n"
    "then asks for confirmation: answer y or yes to delete, anything else\n"
    "keeps it. -y (--yes) skips the question, for scripts. A directory is\n"
    "deleted only with -r (--recursive), then with everything in it;\n"
    "symlinks are deleted themselves, never followed. The node must allow\n"
    "it (client option allow-delete), else it answers 'not permitted by\n"
    "node policy'. The root itself is never deleted. A file named -r is\n"
    "written ./-r.\n"
    "On several nodes (rm web*:/tmp/x) each node first says what it holds\n"
    "(or fails with one line), then one question names how many nodes it\n"
    "will touch: delete /tmp/x on 3 nodes (web*)? [y/N].\n"
    "\n"
    "Examples:\n"
    "  rm n1:/tmp/old.log\n"
    "  rm n1:/tmp/cache -r -y\n"
    "  rm web*:/tmp/old.log\n",
    {{'r', "recursive"}, {'y', "yes"}},
  });
  result.push_back(command_spec{
    "get",
    {},
    1,
    2,
    {"force", "resume"},
    {},
    "get NODE:PATH [LOCAL] [-f] [--resume]",
    "fetch a file or a directory from a node",
    "Fetches the regular file PATH from its node into\n"
    "DOWNLOAD_DIR/<node>/<path> (server option download-dir, default\n"
    "server_data; directories on the way are created, and removed again\n"
    "if the get fails), or into LOCAL (a file name, or an existing\n"
    "directory or one ending in /, which keeps the node's name). The node\n"
    "must allow it (client option allow-download). The data lands in a\n"
    "temporary file that gets the node file's permission bits (never\n"
    "setuid, setgid or sticky, within the server's umask) and mtime, is\n"
    "fsynced, and is moved into place only when its size and SHA-256 match\n"
    "what the node read; an existing local file is never overwritten\n"
    "unless -f (--force) is given.\n"
    "A get that breaks (the node is lost) keeps what arrived as\n"
    ".dirscope-partial-SIZE-MTIME-NAME next to the target; --resume\n"
    "continues it from there. The node's file must still have that size\n"
    "and mtime (else the get starts over), and the whole file is still\n"
    "checked by SHA-256: kept bytes that differ fail the get and the\n"
    "partial file is dropped.\n"
    "A directory PATH travels as a tar.gz stream (checked by its SHA-256)\n"
    "and is unpacked into a temporary directory renamed into place when\n"
    "complete, keeping permissions, mtimes and symlinks (as links, never\n"
    "followed); an existing local directory is never replaced, even with -f.\n"
    "\n"
    "Examples:\n"
    "  get n1:/etc/hosts\n"
    "  get n1:/var/log/big.log /tmp/ -f\n"
    "  get n1:/isos/big.iso --resume\n",
    {{'f', "force"}},
  });
  result.push_back(command_spec{
    "cat",
    {},
    1,
    1,
    {"binary"},
    {"max"},
    "cat PATH [--max SIZE] [--binary]",
    "print a remote file",
    "Prints the regular file PATH from its node. The node must allow it\n"
    "(client option allow-download), as for get. At most 1M bytes (1 MiB)\n"
    "by default: a larger file is refused, nothing is printed; --max SIZE\n"
    "raises the cap (a number of bytes, or with k, M, G: powers of 1024; at\n"
    "most 256M; get fetches any size). What arrives is checked against the\n"
    "node's SHA-256 of the file. Binary content (a NUL byte, control\n"
    "characters other than tab, CR, LF, VT and FF, e.g. the ESC of\n"
    "terminal escape sequences) is refused unless --binary is given, which\n"
    "prints the bytes exactly as they are. Text that does not end with a\n"
    "newline gets one.\n"
    "\n"
    "Examples:\n"
    "  cat n1:/etc/hostname\n"
    "  cat n1:/var/log/big.log --max 16M\n",
  });
  result.push_back(command_spec{
    "head",
    {},
    1,
    3,
    {"binary"},
    {"max", "lines"},
    "head [-n N] PATH [--max SIZE] [--binary]",
    "print the first lines of a remote file",
    "Prints the first N lines (default 10) of the regular file PATH, the\n"
    "same lines as coreutils head -n N (also -nN or --lines N). The node\n"
    "must allow it (client option allow-download). The node stops sending\n"
    "once the lines are there; lines longer in total than the cap (1M by\n"
    "default, --max SIZE as for cat) are refused. Binary content is refused\n"
    "unless --binary is given, as for cat.\n"
    "\n"
    "Examples:\n"
    "  head n1:/etc/passwd\n"
    "  head -n 3 n1:/var/log/syslog\n",
  });
  result.push_back(command_spec{
    "tail",
    {},
    1,
    3,
    {"binary"},
    {"max", "lines"},
    "tail [-n N] PATH [--max SIZE] [--binary]",
    "print the last lines of a remote file",
    "Prints the last N lines (default 10) of the regular file PATH, the\n"
    "same lines as coreutils tail -n N (a last line without a newline\n"
    "counts; also -nN or --lines N). The node must allow it (client option\n"
    "allow-download). Only the last SIZE bytes travel (the cap: 1M by\n"
    "default, --max SIZE as for cat); last lines longer than that are\n"
    "refused. The node still reads the file from its start (the download\n"
    "path hashes the whole file). Binary content is refused unless\n"
    "--binary is given, as for cat.\n"
    "\n"
    "Examples:\n"
    "  tail n1:/var/log/syslog\n"
    "  tail -n 100 n1:/var/log/big.log --max 8M\n",
  });
  result.push_back(command_spec{
    "put",
    {},
    2,
    2,
    {"all", "recursive", "resume", "yes"},
    {},
    "put [--all] [-r] [-y] [--resume] LOCAL PATH",
    "send a file or (-r) a tree to nodes",
    "Sends the regular file LOCAL to PATH (NODE:PATH, or with --all a PATH\n"
    "on every node). A PATH ending in / (or\n"
    "the root) is a directory: the file keeps its local name. The node must\n"
    "allow it (client option allow-upload) and never overwrites: if PATH\n"
    "exists the upload is refused. The node writes a temporary file and\n"
    "moves it into place only when the SHA-256 matches, fsynced, with\n"
    "LOCAL's permission bits (never setuid, setgid or sticky, within the\n"
    "node's umask) and mtime. An upload that breaks (lost connection)\n"
    "leaves .dirscope-partial-SIZE-MTIME-NAME next to PATH on the\n"
    "node; put --resume continues it from the part whose SHA-256 matches\n"
    "LOCAL's start (a LOCAL of another size or mtime starts over), and the\n"
    "whole file is still checked by SHA-256.\n"
    "With --all the file\n"
    "goes to every connected node (PATH without a node), one result line per\n"
    "node, and every node gets a notice that the new file is available.\n"
    "PATH may name several nodes (web*:/etc/, {a,b}:/etc/): the same, on\n"
    "those nodes, after one question naming how many (-y skips it).\n"
    "With -r (--recursive) LOCAL is a directory, sent as a tar.gz stream\n"
    "that the node unpacks into a temporary directory (refusing absolute\n"
    "names, '..' and paths through symlinks) and renames into place when\n"
    "complete; permissions, mtimes and symlinks are kept.\n"
    "\n"
    "Examples:\n"
    "  put ./app.conf n1:/etc/app.conf\n"
    "  put --all ./motd.txt /\n"
    "  put ./motd.txt web*:/etc/\n"
    "  put -r ./site n1:/srv/\n"
    "  put --resume ./big.iso n1:/isos/\n",
    {{'r', "recursive"}, {'y', "yes"}},
  });
  result.push_back(command_spec{
    "broadcast",
    {},
    1,
    1,
    {},
    {},
    "broadcast MESSAGE",
    "send a notice to every connected node",
    "Sends MESSAGE to every connected node, which logs it and prints it\n"
    "on its standard output. Quote a message with spaces.\n"
    "\n"
    "Examples:\n"
    "  broadcast \"maintenance at 18:00\"\n",
  });
  result.push_back(command_spec{
    "kick",
    {},
    1,
    1,
    {},
    {},
    "kick NODE",
    "disconnect a node (it exits)",
    "Disconnects NODE (name or id). The node's client process is told it\n"
    "was kicked and exits; it does not reconnect by itself.\n"
    "\n"
    "Examples:\n"
    "  kick n1\n"
    "  kick 3\n",
  });
  result.push_back(command_spec{
    "wait-nodes",
    {},
    1,
    1,
    {},
    {"timeout"},
    "wait-nodes N [--timeout S]",
    "wait until at least N nodes are connected",
    "Waits until at least N nodes are connected, or fails after S seconds\n"
    "(default 30, at most 24h). S is a number of seconds, optionally with\n"
    "a unit: s, m or h. Ctrl-C stops waiting. Useful in scripts that feed\n"
    "commands to the server.\n"
    "\n"
    "Examples:\n"
    "  wait-nodes 2\n"
    "  wait-nodes 5 --timeout 2m\n",
  });
  result.push_back(command_spec{
    "echo",
    {},
    0,
    std::numeric_limits<size_t>::max(),
    {},
    {},
    "echo [TEXT...]",
    "print TEXT (marks places in piped output)",
    "Prints its words, separated by one space, on standard output. Scripts\n"
    "that pipe commands into the server use it to mark where one command's\n"
    "results end and the next begin.\n"
    "\n"
    "Examples:\n"
    "  echo \"== listing of n1 ==\"\n",
  });
  result.push_back(command_spec{
    "help",
    {},
    0,
    1,
    {},
    {},
    "help [CMD]",
    "this help",
    "Without CMD, lists every command. With CMD, describes that command.\n"
    "\n"
    "Examples:\n"
    "  help\n"
    "  help tree\n",
  });
  result.push_back(command_spec{
    "quit",
    {"exit"},
    0,
    0,
    {},
    {},
    "quit",
    "stop the server and its nodes (alias: exit)",
    "Says goodbye to every connected node (their client processes exit)\n"
    "and stops the server. 'exit' does the same, as does Ctrl-D or the end\n"
    "of piped input. In an interactive shell Ctrl-C does not quit: it\n"
    "cancels the running command (a transfer stops on the node and the\n"
    "temporary files on both sides are removed; the shell says\n"
    "'cancelled'), and at an idle prompt only reminds you of quit. Without\n"
    "a terminal (scripts) SIGINT stops the server, as SIGTERM always does.\n",
  });
  return result;
}

bool contains(const std::vector<std::string_view>& xs, std::string_view x) {
  return std::find(xs.begin(), xs.end(), x) != xs.end();
}

failure bad_request(std::string message) {
  return make_failure(wire_code::bad_request, std::move(message));
}

std::string usage_of(const command_spec& spec) {
  return "usage: " + std::string{spec.usage};
}

bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v'
         || c == '\f';
}

bool looks_like_option(std::string_view word) {
  return word.size() > 2 && word.substr(0, 2) == "--";
}

/// True if `word` is "-" and letters that are all short flags of `spec`.
bool is_short_flags(const command_spec& spec, std::string_view word) {
  if (spec.short_flags.empty() || word.size() < 2 || word[0] != '-')
    return false;
  for (auto c : word.substr(1)) {
    auto known = std::any_of(spec.short_flags.begin(), spec.short_flags.end(),
                             [c](const auto& x) { return x.first == c; });
    if (!known)
      return false;
  }
  return true;
}

std::string option_name(std::string_view option) {
  if (option.substr(0, 2) == "--")
    return std::string{option};
  return "--" + std::string{option};
}

} // namespace

const std::vector<command_spec>& command_table() {
  static const std::vector<command_spec> table = make_table();
  return table;
}

const command_spec* find_command(std::string_view name) {
  for (auto& spec : command_table())
    if (spec.name == name || contains(spec.aliases, name))
      return &spec;
  return nullptr;
}

bool command::has_flag(std::string_view name) const {
  return std::find(flags.begin(), flags.end(), name) != flags.end();
}

std::optional<std::string> command::option(std::string_view name) const {
  if (auto i = options.find(std::string{name}); i != options.end())
    return i->second;
  return std::nullopt;
}

// -- tokenizing ---------------------------------------------------------------

outcome<std::vector<std::string>> tokenize(std::string_view line) {
  std::vector<std::string> words;
  std::string word;
  bool in_word = false; // distinguishes "" (an empty word) from no word
  char quote = 0;
  for (size_t i = 0; i < line.size(); ++i) {
    auto c = line[i];
    auto next = i + 1 < line.size() ? line[i + 1] : '\0';
    if (quote == '\'') {
      if (c == quote)
        quote = 0;
      else
        word += c;
      continue;
    }
    if (c == '\\') {
      in_word = true;
      // A backslash pair is a name escape for one backslash: pass it on
      // whole so it cannot escape a following space or quote.
      if (next == '\\') {
        word += "\\\\";
        ++i;
      } else if (next == '"' || (quote == 0 && next == '\'')
                 || (quote == 0 && is_space(next))) {
        word += next;
        ++i;
      } else {
        word += c;
      }
      continue;
    }
    if (quote == '"') {
      if (c == quote)
        quote = 0;
      else
        word += c;
      continue;
    }
    if (c == '"' || c == '\'') {
      quote = c;
      in_word = true;
    } else if (is_space(c)) {
      if (in_word) {
        words.push_back(std::move(word));
        word.clear();
        in_word = false;
      }
    } else {
      word += c;
      in_word = true;
    }
  }
  if (quote != 0)
    return bad_request(std::string{"unterminated "} + quote + " quote");
  if (in_word)
    words.push_back(std::move(word));
  return words;
}

// -- parsing ------------------------------------------------------------------

outcome<command> parse_command(std::string_view line) {
  auto words = tokenize(line);
  if (!words)
    return words.error();
  command result;
  if (words->empty())
    return result;
  auto& name = words->front();
  auto spec = find_command(name);
  if (spec == nullptr)
    return bad_request("unknown command '" + protocol::escape_name(name)
                       + "' (try 'help')");
  result.spec = spec;
  bool options_done = false;
  for (size_t i = 1; i < words->size(); ++i) {
    auto& word = (*words)[i];
    if (!options_done && is_short_flags(*spec, word)) {
      for (size_t j = 1; j < word.size(); ++j)
        for (auto& [letter, flag] : spec->short_flags)
          if (letter == word[j] && !result.has_flag(flag))
            result.flags.emplace_back(flag);
      continue;
    }
    if (options_done || !looks_like_option(word)) {
      if (!options_done && word == "--")
        options_done = true;
      else
        result.args.push_back(word);
      continue;
    }
    auto body = std::string_view{word}.substr(2);
    auto eq = body.find('=');
    auto key = std::string{body.substr(0, eq)};
    if (contains(spec->flags, key)) {
      if (eq != std::string_view::npos)
        return bad_request("option --" + key + " takes no value; "
                           + usage_of(*spec));
      if (!result.has_flag(key))
        result.flags.push_back(key);
    } else if (contains(spec->options, key)) {
      std::string value;
      if (eq != std::string_view::npos) {
        value = std::string{body.substr(eq + 1)};
      } else if (i + 1 < words->size()
                 && !looks_like_option((*words)[i + 1])) {
        value = (*words)[++i];
      } else {
        return bad_request("option --" + key + " needs a value; "
                           + usage_of(*spec));
      }
      result.options[key] = std::move(value);
    } else {
      return bad_request("unknown option --" + protocol::escape_name(key)
                         + " for " + std::string{spec->name} + "; "
                         + usage_of(*spec));
    }
  }
  auto n = result.args.size();
  if (n < spec->min_args)
    return bad_request("missing argument for " + std::string{spec->name}
                       + "; " + usage_of(*spec));
  if (n > spec->max_args)
    return bad_request("too many arguments for " + std::string{spec->name}
                       + "; " + usage_of(*spec));
  return result;
}

// -- help ---------------------------------------------------------------------

outcome<std::string> help_text(std::optional<std::string_view> name) {
  if (name) {
    auto spec = find_command(*name);
    if (spec == nullptr)
      return bad_request("unknown command '" + protocol::escape_name(*name)
                         + "' (try 'help')");
    auto result = usage_of(*spec) + "\n";
    if (!spec->aliases.empty()) {
      result += "aliases:";
      for (auto alias : spec->aliases)
        result.append(" ").append(alias);
      result += "\n";
    }
    result.append("\n").append(spec->details);
    if (spec->max_args > 0 && spec->usage.find("PATH") != std::string::npos)
      result.append("\n").append(path_notes);
    return result;
  }
  // A usage wider than this gets its summary on the next line, so that
  // the listing fits 80 columns.
  constexpr size_t max_width = 36;
  size_t width = 0;
  for (auto& spec : command_table())
    if (spec.usage.size() <= max_width)
      width = std::max(width, spec.usage.size());
  std::string result = "Commands:\n";
  for (auto& spec : command_table()) {
    result.append("  ").append(spec.usage);
    if (spec.usage.size() > width)
      result.append("\n").append(width + 4, ' ');
    else
      result.append(width - spec.usage.size() + 2, ' ');
    result.append(spec.summary).append("\n");
  }
  result.append("\n").append(path_notes);
  result += "\nType 'help CMD' for details and examples.\n";
  return result;
}

// -- option values ------------------------------------------------------------

outcome<uint64_t> parse_count(std::string_view option, std::string_view text) {
  auto fail = [&] {
    return bad_request(option_name(option)
                       + " expects a non-negative integer, got '"
                       + protocol::escape_name(text) + "'");
  };
  if (text.empty() || text.front() < '0' || text.front() > '9')
    return fail();
  uint64_t result = 0;
  auto last = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), last, result);
  if (ec == std::errc::result_out_of_range)
    return bad_request(option_name(option) + " value too large: '"
                       + protocol::escape_name(text) + "'");
  if (ec != std::errc{} || ptr != last)
    return fail();
  return result;
}

outcome<double> parse_seconds(std::string_view option, std::string_view text) {
  auto fail = [&] {
    return bad_request(option_name(option)
                       + " expects a non-negative number of seconds"
                         " (e.g. 30, 2.5, 30s, 5m, 1h), got '"
                       + protocol::escape_name(text) + "'");
  };
  auto number = text;
  double scale = 1.0;
  if (!number.empty()) {
    switch (number.back()) {
      case 's':
        number.remove_suffix(1);
        break;
      case 'm':
        number.remove_suffix(1);
        scale = 60.0;
        break;
      case 'h':
        number.remove_suffix(1);
        scale = 3600.0;
        break;
      default:
        break;
    }
  }
  // from_chars alone would accept "inf" and "nan": insist on a digit or a
  // decimal point up front.
  if (number.empty()
      || !((number.front() >= '0' && number.front() <= '9')
           || number.front() == '.'))
    return fail();
  double value = 0;
  auto last = number.data() + number.size();
  auto [ptr, ec] = std::from_chars(number.data(), last, value);
  if (ec != std::errc{} || ptr != last)
    return fail();
  value *= scale;
  if (!std::isfinite(value) || value < 0)
    return fail();
  // Beyond this a cast to nanoseconds is undefined behaviour.
  constexpr double max_seconds = 9.2e9;
  if (value > max_seconds)
    return bad_request(option_name(option) + " value too large: '"
                       + protocol::escape_name(text) + "'");
  return value;
}

std::string format_duration(std::chrono::nanoseconds d) {
  using namespace std::chrono;
  auto count = d.count();
  if (count != 0 && count % nanoseconds{hours{1}}.count() == 0)
    return std::to_string(duration_cast<hours>(d).count()) + "h";
  if (count != 0 && count % nanoseconds{minutes{1}}.count() == 0)
    return std::to_string(duration_cast<minutes>(d).count()) + "m";
  if (count % nanoseconds{seconds{1}}.count() == 0)
    return std::to_string(duration_cast<seconds>(d).count()) + "s";
  if (count % nanoseconds{milliseconds{1}}.count() == 0)
    return std::to_string(duration_cast<milliseconds>(d).count()) + "ms";
  return std::to_string(count) + "ns";
}

outcome<std::chrono::nanoseconds>
parse_duration(std::string_view option, std::string_view text,
               std::chrono::nanoseconds max) {
  auto seconds = parse_seconds(option, text);
  if (!seconds)
    return seconds.error();
  auto max_seconds = std::chrono::duration<double>{max}.count();
  if (*seconds > max_seconds)
    return bad_request(option_name(option) + " must be at most "
                       + format_duration(max) + ", got '"
                       + protocol::escape_name(text) + "'");
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
    std::chrono::duration<double>{*seconds});
}

} // namespace dirscope::shell
