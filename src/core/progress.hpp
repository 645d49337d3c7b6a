#pragma once
// A one-line progress display on a terminal ("\r" updates, at most 10 per second);
// silent when stderr is not a terminal, so logs and CI output stay clean.
// Not thread-safe: one thread owns a ProgressLine.

#include <chrono>
#include <string>

namespace hyper {

class ProgressLine {
 public:
  ProgressLine();  // enabled when stderr is a terminal
  ~ProgressLine() { finish(); }

  void update(const std::string& text, bool force = false);
  void finish();  // ends the line (if anything was drawn)
  bool enabled() const { return enabled_; }

 private:
  bool enabled_;
  bool drawn_ = false;
  size_t width_ = 0;
  std::chrono::steady_clock::time_point last_{};
};

}  // namespace hyper
