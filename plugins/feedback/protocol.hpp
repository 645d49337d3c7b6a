#pragma once
// Closed-loop protocols (README, "Closed-loop experiments"). Every TR of a feedback run a
// protocol takes the decoded latent (tr.latent) and says what the subject's screen shows
// (tr.show, else the decoded face) and the feedback (tr.feedback, the value logged;
// tr.feedback_bar, how full the thermometer beside the face is, chance at one half).
// One protocol a file, in the one list of plugins/feedback/list.cpp, chosen by
// feedback.protocol; it runs as the chain's last stage, after decode, on the processing
// thread (no allocation per TR).

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "hyper/params.hpp"
#include "hyper/setting_spec.hpp"
#include "hyper/stage.hpp"

namespace hyper {

class Protocol {
 public:
  virtual ~Protocol() = default;
  virtual void start_run() {}
  virtual void step(Tr& tr) = 0;
};

struct ProtocolInfo {
  std::string name, help;
  std::vector<SettingSpec> settings;  // feedback.<key>
  std::function<std::unique_ptr<Protocol>(const Params&)> make;  // throws SettingsError naming the key
};

const std::vector<ProtocolInfo>& protocols();  // plugins/feedback/list.cpp

// The protocol feedback.protocol names as a stage (appended after decode); nullptr when empty.
std::unique_ptr<Stage> make_feedback_stage(const Params& settings);

}  // namespace hyper
