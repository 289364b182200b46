#pragma once

// Tab completion in a libedit line (the server's console and `dirscope
// shell`): what may complete the word at the cursor comes from a callback;
// this part maps it onto libedit's notion of a word.

#include <functional>
#include <string>
#include <vector>

namespace dirscope::shell {

/// Whole words that may complete the last word of `before` (the text
/// before the cursor). Called on the thread that reads the line.
using completion_source
  = std::function<std::vector<std::string>(const std::string& before)>;

/// Makes Tab complete from `source` (empty: command names only). One per
/// process: libedit keeps a single completion function.
void install_edit_completion(completion_source source);

} // namespace dirscope::shell
