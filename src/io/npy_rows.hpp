#pragma once
// A float32 .npy file that grows by rows as a run goes: each row is written, then the
// header's row count is updated in place, so the file is a valid array of every row
// appended so far at any moment (a killed process leaves a readable file).

#include <cstdint>
#include <filesystem>
#include <string>

namespace hyper {

class NpyRowWriter {
 public:
  // Creates (truncates) `path` for rows of `columns` floats; throws naming the file.
  NpyRowWriter(const std::filesystem::path& path, int64_t columns);
  // Continues `path` (written by this class) after its first `keep_rows` rows: a row past
  // them (written before a kill, its line in tr.tsv not) is written over.
  NpyRowWriter(const std::filesystem::path& path, int64_t columns, int64_t keep_rows);
  ~NpyRowWriter();
  NpyRowWriter(const NpyRowWriter&) = delete;
  NpyRowWriter& operator=(const NpyRowWriter&) = delete;

  void append(const float* row);  // `columns` floats; throws on a write error
  int64_t rows() const { return rows_; }

 private:
  void write_header();
  std::filesystem::path path_;
  int fd_ = -1;
  int64_t columns_ = 0, rows_ = 0;
};

}  // namespace hyper
