#pragma once
// Versions a plugin or a peer can check against.

namespace hyper {

// Bumped whenever a header under include/hyper changes in a way that breaks plugins.
inline constexpr int kApiVersion = 9;  // 2: sinks, sources and generators; 3: Sink::on_received; 4: Tr feedback, Face feedback; 5: resume (RunStart::resume_after, Stage::rebuild); 6: Face::coarse; 7: GeneratorOptions::prepack, SettingSpec::same_numbers; 8: GeneratorOptions::channels_last; 9: Stage::uses

// The wire protocol this build speaks (README, "Protocol hyper/1"), and the earlier version
// it still accepts (hyper/1.1 added the resend channel; a hyper/1 receiver refuses it by name).
inline constexpr const char* kProtocolName = "hyper/1.1";
inline constexpr const char* kProtocolFirst = "hyper/1";

}  // namespace hyper
