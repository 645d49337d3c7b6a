#pragma once
// Small file helpers shared by the subcommands that write records.

#include <sys/types.h>

#include <filesystem>
#include <string_view>

namespace hyper {

// Writes to PATH.tmp, then renames over PATH: a crash leaves the old file or the new one,
// never half of one. Throws std::runtime_error naming the path.
void write_file_atomic(const std::filesystem::path& path, std::string_view text);

// Creates the folder (and parents); throws naming it when that fails.
void ensure_dir(const std::filesystem::path& dir);

// pwrite of all `n` bytes at offset `at` (retried on EINTR and short writes): the files that
// grow in place (latents.npy rows, the BOLD recording). Throws naming `path` and the error.
void pwrite_all(int fd, const void* data, size_t n, off_t at, const std::filesystem::path& path);

}  // namespace hyper
