// Console commands that change nodes: du, rm, broadcast.

#include "actors/server/console_commands.hpp"

#include <cctype>
#include <chrono>

#include <caf/event_based_actor.hpp>
#include <spdlog/spdlog.h>

#include "actors/error.hpp"
#include "actors/server/transfer.hpp"
#include "protocol/names.hpp"
#include "protocol/paths.hpp"
#include "shell/render.hpp"

namespace dirscope::console_impl {

// -- file operations ----------------------------------------------------------

void cmd_du(self_ptr self, const command& cmd) {
  if (fleet_dispatch(self, cmd.args[0], false, fleet_du(self)))
    return;
  with_target(self, cmd.args[0], [self](target& t) {
    self->request(t.conn, caf::infinite, atom::du_v,
                  cancellable_origin(self, t.conn), t.path)
      .then(
        [self, t](protocol::du_reply& x) {
          self->state.out(shell::render_du(shown(t), x));
          finish(self);
        },
        [self](caf::error& err) { fail(self, err); });
  });
}

/// Hands `line` to the command waiting for an answer.
void give_answer(self_ptr self, const std::string& line) {
  auto f = std::move(self->state.answer);
  self->state.answer = nullptr;
  f(line);
}

/// Asks `question` and calls `then` with true for "y" / "yes". The answer is
/// the next input line (queued lines first); end of input answers no.
void confirm(self_ptr self, const std::string& question,
             std::function<void(bool)> then) {
  auto& st = self->state;
  st.answer = [then](const std::string& line) {
    auto word = line;
    auto first = word.find_first_not_of(" \t\r");
    auto last = word.find_last_not_of(" \t\r");
    word = first == std::string::npos ? ""
                                      : word.substr(first, last - first + 1);
    for (auto& c : word)
      c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    then(word == "y" || word == "yes");
  };
  if (st.show_prompt) {
    st.show_prompt(question);
  } else {
    st.out(question + "\n");
  }
  if (!st.pending.empty()) {
    auto line = std::move(st.pending.front());
    st.pending.pop_front();
    give_answer(self, line);
  } else if (st.input_done) {
    give_answer(self, "");
  }
}

void cmd_rm(self_ptr self, const command& cmd) {
  auto recursive = cmd.has_flag("recursive");
  auto yes = cmd.has_flag("yes");
  std::optional<std::string> path = cmd.args[0];
  if (auto& confirmed = self->state.options.rm_confirmed) {
    if (!confirmed())
      return fail(self, failure{wire_code::not_permitted,
                                "rm needs an explicit confirmation: "
                                "\"confirm\": true in the request "
                                "(dirscope --confirm rm ...)"});
    yes = true;
  }
  if (glob_in(path))
    return rm_glob(self, *path, recursive, yes);
  auto plan = fleet_plan_of(self, path);
  if (!plan)
    return fail(self, plan.error());
  if (*plan)
    return fleet_rm(self, std::move(**plan), recursive, yes);
  with_target(self, path, [self, recursive, yes](target& t) {
    if (t.path == "/")
      return fail(self, failure{wire_code::bad_request,
                                "refusing to delete the root of "
                                  + t.info.name});
    // The node announced its policy in its hello: a refusal comes at once,
    // not after the question (the node still checks for itself).
    if ((t.info.capabilities & protocol::capability::remove) == 0)
      return fail(self, failure{wire_code::not_permitted,
                                "not permitted by node policy"});
    // Say what the target is before anything is deleted.
    self->request(t.conn, caf::infinite, atom::du_v,
                  cancellable_origin(self, t.conn), t.path)
      .then(
        [self, t, recursive, yes](protocol::du_reply& x) {
          self->state.out(shell::render_remove_target(shown(t), x, recursive));
          if (x.type == protocol::entry_type::dir && !recursive)
            return fail(self, failure{wire_code::bad_request,
                                      shown(t) + " is a directory: deleting "
                                                 "it needs -r"});
          auto run = [self, t, recursive] {
            if (stop_if_cancelled(self))
              return;
            self->request(t.conn, caf::infinite, atom::remove_v,
                          cancellable_origin(self, t.conn), t.path, recursive)
              .then(
                [self, t](uint64_t n) {
                  self->state.out(shell::render_removed(shown(t), n));
                  finish(self);
                },
                [self](caf::error& err) { fail(self, err); });
          };
          if (yes)
            return run();
          confirm(self, "delete " + shown(t) + "? [y/N] ",
                  [self, run](bool ok) {
                    if (ok)
                      return run();
                    self->state.out("not deleted\n");
                    finish(self);
                  });
        },
        [self, t](caf::error& err) {
          auto why = to_failure(err);
          if (why.code == wire_code::not_found)
            why.message = shown(t) + " does not exist: nothing to delete";
          fail(self, why);
        });
  });
}

void cmd_broadcast(self_ptr self, const command& cmd) {
  self->request(self->state.supervisor, caf::infinite, atom::broadcast_v,
                self->state.options.operator_name, cmd.args[0])
    .then(
      [self](uint64_t n) {
        self->state.out("notice sent to " + std::to_string(n) + " node"
                        + (n == 1 ? "" : "s") + "\n");
        finish(self);
      },
      [self](caf::error& err) { fail(self, err); });
}

} // namespace dirscope::console_impl
