#pragma once
// Helpers shared by the tests: paths, temporary folders, child processes, free ports,
// and the Python reference (Debian's /usr/bin/python3 with nibabel, numpy, zmq).

#include <chrono>
#include <filesystem>
#include <initializer_list>
#include <string>
#include <vector>

#include <sys/types.h>

namespace hyper::test {

std::filesystem::path source_dir();   // the repository
std::filesystem::path hyper_binary(); // the built `hyper`
// {hyper_binary(), args...}: a command line for Process and run.
std::vector<std::string> hyper_cmd(std::initializer_list<std::string> args);
std::string python();                 // /usr/bin/python3

// A fresh folder under the system temp dir, removed when the object goes away.
class TempDir {
 public:
  explicit TempDir(const std::string& tag = "hyper-test");
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }
  std::filesystem::path operator/(const std::string& name) const { return path_ / name; }

 private:
  std::filesystem::path path_;
};

// A child process with stdout and stderr going to `log`. Killed if still running when
// destroyed.
class Process {
 public:
  Process(const std::vector<std::string>& args, const std::filesystem::path& log);
  ~Process();
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;

  // The exit code, or -1 if it did not exit in time (it is then killed).
  int wait(std::chrono::milliseconds timeout);
  void signal(int sig);
  pid_t pid() const { return pid_; }
  std::string output() const;  // what it wrote so far

 private:
  pid_t pid_ = -1;
  int status_ = -1;
  std::filesystem::path log_;
};

// Runs to completion (or kills at the timeout) and returns the exit code; output in `log`.
int run(const std::vector<std::string>& args, const std::filesystem::path& log,
        std::chrono::milliseconds timeout = std::chrono::seconds(120));

// A TCP port on 127.0.0.1 that was free a moment ago.
int free_tcp_port();

std::string read_text(const std::filesystem::path& p);

// The README's fenced code block after the marker line "<!-- example: NAME -->" (the tests
// run the README's examples as written, so the two cannot drift apart).
std::string readme_example(const std::string& name);

}  // namespace hyper::test

namespace hyper::test {

// Writes a synthetic run with tools/make_run.py (nibabel); `extra` are its flags, e.g.
// {"--dims", "16", "16", "8", "50", "--dtype", "int16", "--expected", "x.npy"}.
// Throws when the script fails, with its output.
void make_run(const std::filesystem::path& out, const std::vector<std::string>& extra);

}  // namespace hyper::test
