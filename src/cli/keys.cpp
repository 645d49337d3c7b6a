// `hyper keys`: a CURVE key pair for one end of a link (README, "Keys and encryption"):
// NAME.key_secret (readable by its owner only) stays on this machine, NAME.key is copied to
// the other end.
#include <spdlog/spdlog.h>

#include "cli/command.hpp"
#include "net/curve.hpp"

namespace hyper {

namespace {

void declare(Schema& s) {
  using T = SettingType;
  s.add({.key = "keys.out", .type = T::String, .def = std::string("keys"), .help = "the folder the key files go to", .flag = "--out"});
  s.add({.key = "keys.name", .type = T::String, .def = std::string("hyper"),
         .help = "the key pair's name: NAME.key (public) and NAME.key_secret", .flag = "--name"});
}

int run(const Settings& st, const PartRegistry&) {
  const std::filesystem::path dir = st.get_string("keys.out");
  const std::string name = st.get_string("keys.name");
  const CurveKeyPair k = write_curve_keys(dir, name);
  spdlog::info("public key {}", k.public_key);
  spdlog::info("wrote {} (keep it here: owner-only) and {} (copy it to the other end)", (dir / (name + ".key_secret")).string(),
               (dir / (name + ".key")).string());
  spdlog::info("publisher: --set replay.curve_secret={} --set replay.curve_clients=FOLDER_OF_STREAM_KEYS; "
               "stream: --set stream.curve_secret=... --set stream.curve_server=PUBLISHER.key",
               (dir / (name + ".key_secret")).string());
  return 0;
}

}  // namespace

Command keys_command() {
  return {.name = "keys",
          .help = "make a CURVE key pair for an encrypted, authenticated link (a publisher's or a stream's)",
          .sections = {"keys"},
          .declare = declare,
          .run = run,
          .example = "hyper keys --out keys --name scanner   (then hyper keys --out keys --name stream on the stream PC)"};
}

}  // namespace hyper
