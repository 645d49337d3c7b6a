#pragma once
// The dashboard's page and script, embedded at build time from src/web/assets (CMake writes
// them into a generated source): nothing is fetched from anywhere at the scanner.

#include <string>

namespace hyper {

const std::string& dashboard_html();
const std::string& dashboard_js();

}  // namespace hyper
