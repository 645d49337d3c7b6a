// The one list of closed-loop protocols: one file each (plugins/feedback/NAME.cpp defines
// NAME_protocol()), and one X(NAME) here. Run as a stage after decode (make_feedback_stage).
#include <spdlog/fmt/fmt.h>

#include "core/settings.hpp"
#include "feedback/protocol.hpp"

#define HYPER_PROTOCOLS(X) X(reconstruction) X(target) X(attribute) X(adaptive)

namespace hyper {

#define HYPER_DECLARE_PROTOCOL(name) ProtocolInfo name##_protocol();
#define HYPER_LIST_PROTOCOL(name) name##_protocol(),
HYPER_PROTOCOLS(HYPER_DECLARE_PROTOCOL)

const std::vector<ProtocolInfo>& protocols() {
  static const std::vector<ProtocolInfo> list{HYPER_PROTOCOLS(HYPER_LIST_PROTOCOL)};
  return list;
}

namespace {

class FeedbackStage : public Stage {
 public:
  explicit FeedbackStage(std::unique_ptr<Protocol> p) : p_(std::move(p)) {}
  void preflight(const Spec& in, Spec& out) const override { out = in; }
  void start_run(const RunInfo&) override { p_->start_run(); }
  void process(Tr& tr) override {
    tr.has_show = tr.has_feedback = false;
    if (tr.decoded) p_->step(tr);
  }

 private:
  std::unique_ptr<Protocol> p_;
};

}  // namespace

std::unique_ptr<Stage> make_feedback_stage(const Params& p) {
  const std::string name = p.get_string("feedback.protocol");
  if (name.empty()) return nullptr;
  for (const ProtocolInfo& info : protocols())
    if (info.name == name) return std::make_unique<FeedbackStage>(info.make(p));
  std::string names;
  for (const ProtocolInfo& info : protocols()) names += (names.empty() ? "" : ", ") + info.name;
  throw SettingsError("feedback.protocol: no protocol named '" + name + "' (there are " + names + ")");
}

}  // namespace hyper
