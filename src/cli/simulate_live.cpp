#include "cli/simulate_live.hpp"

#include <cmath>
#include <limits>
#include <thread>

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>
#include <zmq.hpp>

#include "cli/command.hpp"
#include "core/clock.hpp"
#include "core/interrupt.hpp"
#include "core/progress.hpp"
#include "io/files.hpp"
#include "io/npy.hpp"
#include "net/endpoint.hpp"
#include "net/publisher.hpp"
#include "net/replayer.hpp"
#include "sim/twin_subject.hpp"

namespace hyper {

namespace fs = std::filesystem;

void declare_live(Schema& s) {
  using T = SettingType;
  s.add({.key = "simulate.live", .type = T::Bool, .def = false,
         .help = "be a live subject: publish volumes that answer the faces the stream's results say are on screen", .flag = "--live"});
  s.add({.key = "live.endpoint", .type = T::String, .def = std::string("tcp://127.0.0.1:5555"),
         .help = "--live: the hyper/1 endpoint to bind and publish the volumes on (the stream's --endpoint)", .flag = "--endpoint"});
  s.add({.key = "live.results", .type = T::String, .def = std::string("tcp://127.0.0.1:5556"),
         .help = "--live: the stream's results endpoint (its --results, with stream.results_latent = true) to read the screen from",
         .flag = "--results"});
  s.add({.key = "live.volumes", .type = T::Int, .def = int64_t{200}, .unit = "volumes", .help = "--live: the run's length",
         .flag = "--volumes", .min = 2.0, .max = 100000.0});
  s.add({.key = "live.run", .type = T::Int, .def = int64_t{1}, .help = "--live: the run's number (its noise and motion)", .min = 1.0});
  s.add({.key = "live.speed", .type = T::Float, .def = 1.0, .unit = "x real time",
         .help = "--live: 1 sends a volume every TR; \"max\": each volume as soon as the stream has answered the one before",
         .flag = "--speed", .min = 1e-3, .max = 1e6, .choices = {"max"}});
  declare_link_settings(s, "live");
  s.add({.key = "live.results_server", .type = T::String, .def = std::string(""),
         .help = "--live with live.curve_secret: the stream's public key (its NAME.key), to read its encrypted results", .existing = true});
  s.add({.key = "live.target", .type = T::Int, .def = int64_t{-1},
         .help = "--live: the hidden target, a row of the twin's latents; -1: none (or live.target_seed)", .min = -1.0,
         .max = kTrainFaces + kTestFaces - 1.0});
  s.add({.key = "live.target_seed", .type = T::Int, .def = int64_t{0},
         .help = "--live: a hidden target drawn from this seed (a face no run showed); 0: live.target", .min = 0.0});
  s.add({.key = "live.recognition", .type = T::Float, .def = 1.0,
         .help = "--live: how much more the visual region answers a face per sd of likeness to the hidden target beyond "
                 "live.threshold", .min = 0.0});
  s.add({.key = "live.threshold", .type = T::Float, .def = 1.0, .unit = "sd",
         .help = "--live: the likeness (sqrt(512) cos) from which a face is recognised as like the target", .min = -30.0, .max = 30.0});
  s.add({.key = "live.wait", .type = T::Float, .def = 10.0, .unit = "s",
         .help = "--live: how long to wait for the stream (its subscription; at --speed max, each answer)", .min = 0.1});
}

namespace {

// What the stream's results say is on screen after volume `index`: the protocol's face
// ("show") or the decoded one ("latent"). False for another run's message or one without a face.
bool screen_face(const std::string& text, const std::string& run, int64_t& index, std::vector<float>& face, bool& warned) {
  const nlohmann::json j = nlohmann::json::parse(text, nullptr, false);
  if (!j.is_object() || j.value("run", "") != run || !j.contains("index")) return false;
  index = j["index"].get<int64_t>();
  const char* key = j.contains("show") ? "show" : j.contains("latent") ? "latent" : nullptr;
  if (!key || !j[key].is_array() || j[key].size() != kLatentDim) {
    if (j.value("decoded", false) && !std::exchange(warned, true))
      spdlog::warn("live: the stream's results carry no latent: start it with --set stream.results_latent=true");
    return false;
  }
  face = j[key].get<std::vector<float>>();
  return true;
}

std::optional<Eigen::VectorXf> hidden_target(const Settings& st, const Anatomy& a) {
  if (const int64_t seed = st.get_int("live.target_seed"); seed > 0) {
    Rng rng(static_cast<uint64_t>(seed), 7);
    Eigen::VectorXf z(kLatentDim);
    for (int d = 0; d < kLatentDim; ++d) z(d) = static_cast<float>(rng.normal());
    return z;
  }
  if (const int64_t row = st.get_int("live.target"); row >= 0) return Eigen::VectorXf(a.latents.row(row).transpose());
  return std::nullopt;
}

}  // namespace

int run_live(const Settings& st) {
  const fs::path out = st.get_string("simulate.out");
  const TwinConfig c = twin_config(st);
  const Anatomy a = make_anatomy(c);
  const auto T = static_cast<int>(st.get_int("live.volumes"));
  const std::optional<Eigen::VectorXf> target = hidden_target(st, a);
  const int run_no = static_cast<int>(st.get_int("live.run"));
  // Run numbers of their own (1000 + n): never the noise of a written run.
  TwinSubject subject(c, a, 1000 + run_no, T, target, st.get_float("live.recognition"), st.get_float("live.threshold"));
  const bool lockstep = st.is_word("live.speed", "max");
  const double speed = lockstep ? 1.0 : st.get_float("live.speed");
  const double wait_s = st.get_float("live.wait");

  zmq::context_t ctx(1);
  PublisherOptions po;
  po.lossy = !lockstep;
  po.what = "live.endpoint (--endpoint)";
  apply_link_settings(st, "live", po);
  Publisher pub(ctx, st.get_string("live.endpoint"), po);
  zmq::socket_t results(ctx, zmq::socket_type::sub);
  check_endpoint(st.get_string("live.results"), "live.results (--results)");
  results.set(zmq::sockopt::subscribe, "");
  secure_client(results, client_link_keys(st, "live.curve_secret", "live.results_server", "live.insecure"), st.get_string("live.results"));
  results.connect(st.get_string("live.results"));
  spdlog::info("live twin '{}' (seed {}), run {}: {} volumes of TR {} s on {}, the screen read from {}{}", c.preset, c.seed, run_no, T,
               c.tr_s, pub.endpoint(), st.get_string("live.results"),
               target ? fmt::format("; a hidden target, recognition {}", st.get_float("live.recognition")) : "");
  if (pub.wait_for_subscribers(1, std::chrono::milliseconds(static_cast<int64_t>(wait_s * 1000))) < 1)
    throw std::runtime_error(fmt::format("live: no stream subscribed to {} within {} s: start `hyper stream --endpoint {} --results {} "
                                         "--set stream.results_latent=true` first", pub.endpoint(), wait_s, pub.endpoint(),
                                         st.get_string("live.results")));
  std::this_thread::sleep_for(std::chrono::milliseconds(300));  // the results subscription, too (ZeroMQ's slow joiner)

  const std::string run_id = fmt::format("twin-live-{:02d}", run_no);
  NiftiInfo grid;  // the volumes as the written twin's runs hold them
  grid.dims = {c.dims[0], c.dims[1], c.dims[2], T};
  grid.voxel_mm = {c.voxel_mm, c.voxel_mm, c.voxel_mm};
  grid.affine = a.affine;
  grid.dtype = c.dtype == "int16" ? DType::Int16 : DType::Float32;
  grid.slope = subject.scan().truth().slope;
  VolumeHeader h = volume_header(grid, run_id, c.tr_s);
  pub.send_control({.type = ControlType::RunStart, .run = run_id, .count = T, .tr_s = c.tr_s});

  std::vector<std::byte> raw(subject.scan().volume_bytes());
  std::vector<int64_t> sent(static_cast<size_t>(T), 0);
  int64_t answered = -1, unanswered = 0;
  bool warned = false;
  std::vector<float> face;
  // Reads the results that have come (waiting up to `ms`); each face goes on screen at its run time.
  const auto read_screen = [&](int ms) {
    zmq::pollitem_t item{results.handle(), 0, ZMQ_POLLIN, 0};
    while (zmq::poll(&item, 1, std::chrono::milliseconds(ms)) > 0) {
      zmq::message_t m;
      if (!results.recv(m, zmq::recv_flags::dontwait)) break;
      int64_t index = -1;
      if (!screen_face(m.to_string(), run_id, index, face, warned) || index < 0 || index >= T) continue;
      answered = std::max(answered, index);
      // On screen from the end of the volume's acquisition plus the loop's latency (real time).
      const double latency_s = static_cast<double>(realtime_ns() - sent[static_cast<size_t>(index)]) * 1e-9 * speed;
      const auto& last = subject.shown();
      if (last.empty() || last.back().latent != face) subject.show(face.data(), (static_cast<double>(index) + 1) * c.tr_s + latency_s);
      ms = 0;
    }
  };
  ProgressLine progress;
  const auto t0 = SteadyClock::now();
  for (int t = 0; t < T && !interrupted(); ++t) {
    if (lockstep && t > 0) {  // the stream's answer to the volume before, then this one
      const auto until = SteadyClock::now() + std::chrono::duration<double>(wait_s);
      while (answered < t - 1 && SteadyClock::now() < until && !interrupted()) read_screen(20);
      if (answered < t - 1 && unanswered++ == 0)
        spdlog::warn("live: no answer to volume {} within {} s: going on with the screen as it was", t - 1, wait_s);
    } else if (!lockstep) {
      const auto due = t0 + std::chrono::duration_cast<SteadyClock::duration>(std::chrono::duration<double>((t + 1) * c.tr_s / speed));
      while (SteadyClock::now() < due && !interrupted())
        read_screen(static_cast<int>(std::max<int64_t>(1, std::chrono::duration_cast<std::chrono::milliseconds>(due - SteadyClock::now()).count())));
    }
    read_screen(0);
    subject.volume(t, raw.data());
    h.index = t;
    sent[static_cast<size_t>(t)] = realtime_ns();
    if (!pub.send_volume(h, raw)) break;
    progress.update(fmt::format("live  {}/{} volumes  {} faces shown", t + 1, T, subject.shown().size()), t + 1 == T);
  }
  progress.finish();
  pub.send_control({.type = ControlType::RunEnd, .run = run_id, .volumes_sent = T});
  if (lockstep) read_screen(static_cast<int>(wait_s * 1000) / 4);  // the last answers, for the log of what was shown

  // The truth: what was on screen when, how like the hidden target.
  ensure_dir(out);
  std::string tsv = "onset\tduration\tlikeness\n";
  std::vector<float> latents;
  for (const ShownFace& f : subject.shown()) {
    tsv += fmt::format("{:.4f}\t{:.4f}\t{:.6f}\n", f.onset_s, f.duration_s, f.likeness);
    latents.insert(latents.end(), f.latent.begin(), f.latent.end());
  }
  write_file_atomic(out / "shown.tsv", tsv);
  write_npy(out / "shown_latents.npy", {static_cast<int64_t>(subject.shown().size()), kLatentDim}, latents);
  if (target) write_npy(out / "target.npy", {kLatentDim}, std::vector<float>(target->data(), target->data() + kLatentDim));
  write_file_atomic(out / "live.json", nlohmann::json{{"run", run_id}, {"volumes", T}, {"tr_s", c.tr_s}, {"preset", c.preset},
                                                      {"seed", c.seed}, {"faces_shown", subject.shown().size()},
                                                      {"volumes_unanswered", unanswered}, {"target", target.has_value()},
                                                      {"recognition", st.get_float("live.recognition")},
                                                      {"threshold", st.get_float("live.threshold")}}
                                           .dump(2) + "\n");
  spdlog::info("live: {} volumes sent, {} faces shown; what was on screen in {}", T, subject.shown().size(), (out / "shown.tsv").string());
  return interrupted() ? kExitInterrupted : 0;
}

}  // namespace hyper
