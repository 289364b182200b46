// Console commands that print a remote file: cat, head, tail.

#include "actors/server/console_commands.hpp"

#include <caf/event_based_actor.hpp>

#include "actors/error.hpp"
#include "actors/server/peek.hpp"
#include "protocol/names.hpp"
#include "shell/peek.hpp"

namespace dirscope::console_impl {

namespace {

/// The command's PATH, -n N (also -nN, --lines N) and --max, checked.
struct peek_args {
  std::string path;
  uint64_t lines = shell::default_peek_lines;
  uint64_t cap = shell::default_peek_cap;
};

outcome<peek_args> parse_peek_args(const command& cmd, bool with_lines) {
  peek_args result;
  std::optional<std::string> path;
  std::optional<std::string> count;
  auto usage = "usage: " + std::string{cmd.spec->usage};
  for (size_t i = 0; i < cmd.args.size(); ++i) {
    auto& arg = cmd.args[i];
    if (with_lines && arg == "-n") {
      if (i + 1 == cmd.args.size())
        return failure{wire_code::bad_request, "-n needs a value; " + usage};
      count = cmd.args[++i];
    } else if (with_lines && arg.size() > 2 && arg.compare(0, 2, "-n") == 0) {
      count = arg.substr(2);
    } else if (!path) {
      path = arg;
    } else {
      return failure{wire_code::bad_request, usage};
    }
  }
  if (!path)
    return failure{wire_code::bad_request, usage};
  result.path = std::move(*path);
  if (auto x = cmd.option("lines"))
    count = *x;
  if (count) {
    auto n = shell::parse_count("lines", *count);
    if (!n)
      return failure{wire_code::bad_request,
                     "-n expects a non-negative number of lines, got '"
                       + protocol::escape_name(*count) + "'"};
    result.lines = *n;
  }
  if (auto x = cmd.option("max")) {
    auto cap = shell::parse_peek_cap(*x);
    if (!cap)
      return cap.error();
    result.cap = *cap;
  }
  return result;
}

} // namespace

void cmd_peek(self_ptr self, const command& cmd, shell::peek_kind kind) {
  auto args = parse_peek_args(cmd, kind != shell::peek_kind::cat);
  if (!args)
    return fail(self, args.error());
  auto binary = cmd.has_flag("binary");
  auto lines = args->lines;
  auto cap = args->cap;
  with_target(self, args->path, [self, kind, lines, cap, binary](target& t) {
    peek_job job;
    job.conn = t.conn;
    job.query = cancellable_query(self, t.conn);
    job.path = t.path;
    job.shown = shown(t);
    job.kind = kind;
    job.lines = lines;
    job.cap = cap;
    auto hdl = self->spawn(peek, std::move(job));
    auto what = shown(t);
    self->request(hdl, caf::infinite, atom::get_v)
      .then(
        [self, binary, what](std::string& bytes) {
          if (!binary && shell::looks_binary(bytes))
            return fail(self, failure{wire_code::bad_request,
                                      what + " holds binary content (NUL or "
                                             "control bytes); --binary "
                                             "prints it as it is"});
          // Text ends with a newline so that the next line starts on its
          // own; --binary prints the bytes exactly.
          if (!binary && !bytes.empty() && bytes.back() != '\n')
            bytes += '\n';
          if (!bytes.empty())
            self->state.out(bytes);
          finish(self);
        },
        [self](caf::error& err) { fail(self, err); });
  });
}

} // namespace dirscope::console_impl
