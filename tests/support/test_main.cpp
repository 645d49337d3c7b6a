// doctest main for every HYPER-RT test binary, with two additions: a test case that ran no
// assertion fails, and so does a run in which no test case matched the filter (CTest runs
// each case by name; a name CMake mangles, e.g. one with a ';', would otherwise "pass"
// without running). A test that asserts nothing proves nothing; BUILD-NOTES.md's glog
// trap makes exactly such tests when torch is included after doctest.
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include <iostream>
#include <mutex>
#include <string>
#include <vector>

namespace {

std::mutex g_mutex;
std::vector<std::string> g_empty_cases;
unsigned g_cases_run = 0;

struct AssertionGuard : doctest::IReporter {
  explicit AssertionGuard(const doctest::ContextOptions&) {}
  void report_query(const doctest::QueryData&) override {}
  void test_run_start() override {}
  void test_run_end(const doctest::TestRunStats& st) override { g_cases_run = st.numTestCasesPassingFilters; }
  void test_case_start(const doctest::TestCaseData& tc) override { current_ = tc.m_name; }
  void test_case_reenter(const doctest::TestCaseData&) override {}
  void test_case_end(const doctest::CurrentTestCaseStats& st) override {
    if (st.numAssertsCurrentTest == 0) {
      std::lock_guard lock(g_mutex);
      g_empty_cases.push_back(current_);
    }
  }
  void test_case_exception(const doctest::TestCaseException&) override {}
  void subcase_start(const doctest::SubcaseSignature&) override {}
  void subcase_end() override {}
  void log_assert(const doctest::AssertData&) override {}
  void log_message(const doctest::MessageData&) override {}
  void test_case_skipped(const doctest::TestCaseData&) override {}

 private:
  std::string current_;
};

}  // namespace

REGISTER_LISTENER("assertion_guard", 1, AssertionGuard);

int main(int argc, char** argv) {
  doctest::Context context(argc, argv);
  const int rc = context.run();
  if (context.shouldExit()) return rc;
  if (g_cases_run == 0) {
    std::cerr << "FAILED: no test case matched the filter\n";
    return 1;
  }
  if (!g_empty_cases.empty()) {
    for (const auto& name : g_empty_cases)
      std::cerr << "FAILED: test case \"" << name << "\" ran no assertion\n";
    return 1;
  }
  return rc;
}
