#include "io/npy_rows.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

#include "io/files.hpp"

namespace hyper {

namespace {
// Magic, version 1.0, header length, header: a fixed 128 bytes whatever the row count,
// so rewriting it never moves the data.
constexpr size_t kHeaderBytes = 128;
}  // namespace

NpyRowWriter::NpyRowWriter(const std::filesystem::path& path, int64_t columns) : path_(path), columns_(columns) {
  fd_ = open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd_ < 0) throw std::runtime_error(path.string() + ": cannot create: " + std::strerror(errno));
  write_header();
}

NpyRowWriter::NpyRowWriter(const std::filesystem::path& path, int64_t columns, int64_t keep_rows)
    : path_(path), columns_(columns), rows_(keep_rows) {
  fd_ = open(path.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
  if (fd_ < 0) throw std::runtime_error(path.string() + ": cannot open to continue: " + std::strerror(errno));
  const off_t end = static_cast<off_t>(kHeaderBytes + static_cast<size_t>(rows_ * columns_) * sizeof(float));
  if (ftruncate(fd_, end) != 0) throw std::runtime_error(path.string() + ": cannot cut to " + std::to_string(rows_) + " rows: " + std::strerror(errno));
  write_header();
}

NpyRowWriter::~NpyRowWriter() {
  if (fd_ >= 0) close(fd_);
}

void NpyRowWriter::write_header() {
  std::string dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (" + std::to_string(rows_) + ", " +
                     std::to_string(columns_) + "), }";
  std::string header = "\x93NUMPY";
  header += '\x01';
  header += '\x00';
  const auto len = static_cast<uint16_t>(kHeaderBytes - 10);
  header += static_cast<char>(len & 0xff);
  header += static_cast<char>(len >> 8);
  header += dict;
  header.append(kHeaderBytes - 1 - header.size(), ' ');
  header += '\n';
  pwrite_all(fd_, header.data(), header.size(), 0, path_);
}

void NpyRowWriter::append(const float* row) {
  const size_t bytes = static_cast<size_t>(columns_) * sizeof(float);
  pwrite_all(fd_, row, bytes, static_cast<off_t>(kHeaderBytes + static_cast<size_t>(rows_) * bytes), path_);
  ++rows_;
  write_header();  // after the row: the count never names a row that is not there
}

}  // namespace hyper
