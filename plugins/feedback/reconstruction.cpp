// reconstruction: the newest decoded face, nothing else (what `hyper stream --faces` shows,
// as a protocol: the baseline of a closed-loop study).
#include "feedback/protocol.hpp"

namespace hyper {

namespace {

class Reconstruction : public Protocol {
 public:
  void step(Tr&) override {}  // the decoded latent is what the screen shows
};

}  // namespace

ProtocolInfo reconstruction_protocol() {
  return {"reconstruction", "the newest decoded face; no feedback value", {},
          [](const Params&) -> std::unique_ptr<Protocol> { return std::make_unique<Reconstruction>(); }};
}

}  // namespace hyper
