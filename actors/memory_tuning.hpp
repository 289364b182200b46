#pragma once

namespace dirscope {

/// Tunes glibc malloc for the data path; called first thing by both mains.
/// A transfer frees and allocates its chunks at a high rate on several
/// threads: with the defaults, every free that left the top of a thread's
/// arena above 128 KiB gave its pages back (madvise) and the next chunk
/// faulted them in again, zero-filled by the kernel (clear_page: 6.7 % of
/// all samples of a get on the server's I/O thread, bench/RESULTS.md).
/// Keeps up to 16 MiB at an arena's top instead and serves blocks below
/// 4 MiB from the arenas, not from fresh mmaps.
void tune_malloc() noexcept;

} // namespace dirscope
