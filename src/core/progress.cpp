#include "core/progress.hpp"

#include <cstdio>

#include <unistd.h>

namespace hyper {

ProgressLine::ProgressLine() : enabled_(isatty(fileno(stderr)) != 0) {}

void ProgressLine::update(const std::string& text, bool force) {
  if (!enabled_) return;
  const auto now = std::chrono::steady_clock::now();
  if (!force && drawn_ && now - last_ < std::chrono::milliseconds(100)) return;
  last_ = now;
  // Pad with spaces so a shorter line fully covers the previous one.
  std::fprintf(stderr, "\r%s%*s", text.c_str(), static_cast<int>(width_ > text.size() ? width_ - text.size() : 0), "");
  std::fflush(stderr);
  width_ = text.size();
  drawn_ = true;
}

void ProgressLine::finish() {
  if (!drawn_) return;
  std::fputc('\n', stderr);
  drawn_ = false;
  width_ = 0;
}

}  // namespace hyper
