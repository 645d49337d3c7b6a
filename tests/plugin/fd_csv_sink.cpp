// Appends each TR's framewise displacement to a CSV file: a whole sink, built against
// include/hyper only (README, "Writing a sink").
#include <fstream>
#include <stdexcept>

#include "hyper/registry.hpp"

namespace {

class FdCsv : public hyper::Sink {
 public:
  explicit FdCsv(const std::string& path) : csv_(path, std::ios::app) {
    if (!csv_) throw std::runtime_error("fd_csv.path: cannot open " + path);
  }
  // Inline (the default threading): called on the Session's loop thread, so it must not
  // block; a short line and a flush do not.
  void on_tr(const hyper::Tr& tr) override { csv_ << tr.run << ',' << tr.index << ',' << tr.fd_mm << std::endl; }

 private:
  std::ofstream csv_;
};

}  // namespace

HYPER_PLUGIN(registry) {
  registry.add_sink({"fd_csv", "appends run,index,fd_mm of every TR to a CSV file",
                     {{.key = "fd_csv.path", .type = hyper::SettingType::String, .def = std::string(""),
                       .help = "the CSV file (appended to); empty: off"}},
                     [](const hyper::SinkContext& ctx) -> std::unique_ptr<hyper::Sink> {
                       const std::string path = ctx.settings.get_string("fd_csv.path");
                       if (path.empty()) return nullptr;  // off unless its setting says where
                       return std::make_unique<FdCsv>(path);
                     }});
}
