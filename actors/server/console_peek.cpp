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

void run_peek(self_ptr self, const target& t, const peek_spec& spec,
              console_output out, std::function<void()> on_done,
              std::function<void(const caf::error&)> on_error) {
  peek_job job;
  job.conn = t.conn;
  job.origin = cancellable_origin(self, t.conn);
  job.path = t.path;
  job.shown = shown(t);
  job.kind = spec.kind;
  job.lines = spec.lines;
  job.cap = spec.cap;
  auto hdl = self->spawn(peek, std::move(job));
  auto what = shown(t);
  auto binary = spec.binary;
  self->request(hdl, caf::infinite, atom::get_v)
    .then(
      [binary, what, out, on_done, on_error](std::string& bytes) {
        if (!binary && shell::looks_binary(bytes))
          return on_error(make_error(wire_code::bad_request,
                                     what + " holds binary content (NUL or "
                                            "control bytes); --binary "
                                            "prints it as it is"));
        // Text ends with a newline so that the next line starts on its
        // own; --binary prints the bytes exactly.
        if (!binary && !bytes.empty() && bytes.back() != '\n')
          bytes += '\n';
        if (!bytes.empty())
          out(bytes);
        on_done();
      },
      [on_error](caf::error& err) { on_error(err); });
}

outcome<peek_spec> parse_peek(const command& cmd, shell::peek_kind kind) {
  auto args = parse_peek_args(cmd, kind != shell::peek_kind::cat);
  if (!args)
    return args.error();
  peek_spec result;
  result.kind = kind;
  result.path = std::move(args->path);
  result.lines = args->lines;
  result.cap = args->cap;
  result.binary = cmd.has_flag("binary");
  return result;
}

void cmd_peek(self_ptr self, const command& cmd, shell::peek_kind kind) {
  auto spec = parse_peek(cmd, kind);
  if (!spec)
    return fail(self, spec.error());
  if (fleet_dispatch(self, spec->path, false, fleet_peek(self, *spec)))
    return;
  with_target(self, spec->path, [self, spec = *spec](target& t) {
    run_peek(
      self, t, spec, self->state.out, [self] { finish(self); },
      [self](const caf::error& err) { fail(self, err); });
  });
}

fleet_op fleet_peek(self_ptr self, const peek_spec& spec) {
  return [self, spec](const target& t, console_output out,
                      std::function<void()> ok,
                      std::function<void(const caf::error&)> bad) {
    if (spec.binary)
      return bad(make_error(wire_code::bad_request,
                            "--binary takes one node: name it (NODE:PATH)"));
    run_peek(self, t, spec, std::move(out), std::move(ok), std::move(bad));
  };
}

} // namespace dirscope::console_impl
