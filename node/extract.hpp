#pragma once

// The writing half of tree unpacking: the entries of a tar stream, read by
// libarchive, created beneath a directory fd with *at() calls. Never
// libarchive's disk writer: that one works by path, and flips the process
// umask to 0 and back for every entry (under every other thread).

#include <cstdint>
#include <string>
#include <string_view>

#include <sys/types.h>

#include "protocol/outcome.hpp"

struct archive;

namespace dirscope::node {

/// A failure naming `what` with libarchive's message for `a`.
failure archive_failure(archive* a, std::string_view what);

/// Creates every entry `in` (an open libarchive reader) yields beneath the
/// directory `top`, which must hold none of them yet. Only regular files,
/// directories and symlinks; no hard links, devices, FIFOs, sockets or
/// sparse files; no absolute name, no '..', nothing through a symlink or
/// over an entry made before. Modes lose setuid, setgid and sticky bits and
/// obey `umask`; mtimes are kept; directories get theirs once all entries
/// are in ("." is `top` itself). `shown` names the tree in messages.
/// Returns the number of entries. On failure part of the tree may exist.
outcome<uint64_t> extract_entries(archive* in, int top, mode_t umask,
                                  const std::string& shown);

} // namespace dirscope::node
