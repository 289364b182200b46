#pragma once

// Node selectors: which nodes a NODE: prefix (or `use`) names. Pure, so
// that the grammar is tested without actors.

#include <string>
#include <string_view>
#include <vector>

#include "protocol/outcome.hpp"

namespace dirscope::shell {

/// What the text before the colon of NODE:PATH names.
struct node_selector {
  /// Several nodes (`all`, `*`, a glob, `{a,b}`): the command runs on
  /// each. False: one node by name or id, as before selectors.
  bool many = false;
  /// `many`: globs on the node names as `nodes` shows them (escaped); a
  /// node is selected if any matches.
  std::vector<std::string> patterns;
  /// Not `many`: the node's name or numeric id.
  std::string name;
};

/// Parses a selector: `all` or `*` (every node), a glob with `*`, `?` or
/// `[...]` (`web*`), a brace list of names or globs (`{web1,db*}`), else
/// one node's name or id. Fails on an empty selector or a bad brace list
/// (empty, unclosed, an empty element, nested braces).
outcome<node_selector> parse_selector(std::string_view text);

/// True if `text` names several nodes (parse_selector(text)->many); false
/// also when it does not parse (the caller reports that).
bool names_many(std::string_view text);

} // namespace dirscope::shell
