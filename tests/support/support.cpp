#include "support.hpp"

#include <csignal>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <thread>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;

namespace hyper::test {

std::filesystem::path source_dir() { return HYPER_SOURCE_DIR; }
std::filesystem::path hyper_binary() { return HYPER_BINARY; }

std::vector<std::string> hyper_cmd(std::initializer_list<std::string> args) {
  std::vector<std::string> v{HYPER_BINARY};
  v.insert(v.end(), args);
  return v;
}
std::string python() { return "/usr/bin/python3"; }

TempDir::TempDir(const std::string& tag) {
  std::string pattern = (std::filesystem::temp_directory_path() / (tag + "-XXXXXX")).string();
  if (!mkdtemp(pattern.data())) throw std::runtime_error("mkdtemp failed");
  path_ = pattern;
}

TempDir::~TempDir() {
  std::error_code ec;
  if (!std::getenv("HYPER_KEEP_TEST_FILES")) std::filesystem::remove_all(path_, ec);
}

Process::Process(const std::vector<std::string>& args, const std::filesystem::path& log) : log_(log) {
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, STDOUT_FILENO, log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_adddup2(&fa, STDOUT_FILENO, STDERR_FILENO);
  posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  std::vector<char*> argv;
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  const int rc = posix_spawn(&pid_, argv[0], &fa, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  if (rc != 0) throw std::runtime_error("cannot start " + args[0]);
}

Process::~Process() {
  if (pid_ > 0 && status_ < 0) {
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
  }
}

int Process::wait(std::chrono::milliseconds timeout) {
  if (status_ >= 0) return status_;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    int st = 0;
    if (waitpid(pid_, &st, WNOHANG) == pid_) {
      status_ = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
      return status_;
    }
    if (std::chrono::steady_clock::now() > deadline) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
      status_ = 137;
      return -1;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

void Process::signal(int sig) {
  if (status_ < 0) kill(pid_, sig);
}

std::string Process::output() const { return read_text(log_); }

int run(const std::vector<std::string>& args, const std::filesystem::path& log, std::chrono::milliseconds timeout) {
  Process p(args, log);
  return p.wait(timeout);
}

int free_tcp_port() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  socklen_t len = sizeof addr;
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  close(fd);
  return ntohs(addr.sin_port);
}

std::string read_text(const std::filesystem::path& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace hyper::test

namespace hyper::test {

void make_run(const std::filesystem::path& out, const std::vector<std::string>& extra) {
  std::vector<std::string> args{python(), (source_dir() / "tools/make_run.py").string(), "--out", out.string()};
  args.insert(args.end(), extra.begin(), extra.end());
  const auto log = out.string() + ".log";
  if (run(args, log) != 0) throw std::runtime_error("make_run.py failed:\n" + read_text(log));
}

std::string readme_example(const std::string& name) {
  const std::string readme = read_text(source_dir() / "README.md");
  const auto marker = readme.find("<!-- example: " + name + " -->");
  if (marker == std::string::npos) throw std::runtime_error("README.md: no example " + name);
  const auto open = readme.find("```", marker);
  const auto body = readme.find('\n', open) + 1;
  const auto close = readme.find("\n```", body);
  if (open == std::string::npos || close == std::string::npos) throw std::runtime_error("README.md: example " + name + " has no code block");
  return readme.substr(body, close - body + 1);
}

}  // namespace hyper::test
