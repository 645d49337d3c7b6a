#include "sim/twin_subject.hpp"

#include <algorithm>
#include <cmath>

#include "core/hrf.hpp"

namespace hyper {

TwinSubject::TwinSubject(const TwinConfig& c, const Anatomy& a, int run, int volumes, std::optional<Eigen::VectorXf> target,
                         double recognition, double threshold)
    : c_(c), a_(a), scan_(c, a, run, volumes), volumes_(volumes), target_(std::move(target)), recognition_(recognition),
      threshold_(threshold),
      unit_(1.0 / block_peak(c.face_s)),  // as the written twin: a face_s block peaks at 1
      signal_(Eigen::MatrixXf::Zero(volumes, static_cast<Eigen::Index>(a.visual.size()))) {}

double TwinSubject::likeness(const float* latent) const {
  if (!target_) return 0;
  const Eigen::Map<const Eigen::VectorXf> z(latent, kLatentDim);
  const double norms = static_cast<double>(z.norm()) * static_cast<double>(target_->norm());
  return norms > 0 ? std::sqrt(static_cast<double>(kLatentDim)) * static_cast<double>(z.dot(*target_)) / norms : 0.0;
}

void TwinSubject::show(const float* latent, double onset_s) {
  if (!shown_.empty()) {
    onset_s = std::max(onset_s, shown_.back().onset_s);
    respond(shown_.back(), responded_to_, onset_s);
    shown_.back().duration_s = onset_s - shown_.back().onset_s;
  }
  shown_.push_back({onset_s, 0, latent ? likeness(latent) : 0.0, latent ? std::vector<float>(latent, latent + kLatentDim) : std::vector<float>{}});
  responded_to_ = onset_s;
}

void TwinSubject::respond(const ShownFace& face, double from_s, double to_s) {
  if (!(to_s > from_s) || face.latent.empty()) return;
  // One face's response is linear in its time on screen: its pieces, added as they become
  // known, sum to the response to the whole.
  const Eigen::Map<const Eigen::RowVectorXf> z(face.latent.data(), kLatentDim);
  const double gain = 1.0 + recognition_ * std::max(0.0, face.likeness - threshold_);
  Eigen::RowVectorXf amp = ((z * a_.weights).array() + static_cast<float>(c_.evoked)).matrix();
  for (Eigen::Index v = 0; v < amp.size(); ++v) amp(v) *= static_cast<float>(a_.signal_sd * gain) * a_.gain[static_cast<size_t>(v)];
  const std::vector<double> x = block_response(from_s, to_s - from_s, c_.tr_s, volumes_, unit_);
  for (int k = 0; k < volumes_; ++k)
    if (x[static_cast<size_t>(k)] != 0) signal_.row(k) += static_cast<float>(x[static_cast<size_t>(k)]) * amp;
}

void TwinSubject::volume(int t, std::byte* raw) {
  const double scan_s = t * c_.tr_s;
  if (!shown_.empty() && scan_s > responded_to_) {
    respond(shown_.back(), responded_to_, scan_s);
    responded_to_ = scan_s;
    shown_.back().duration_s = scan_s - shown_.back().onset_s;
  }
  scan_.volume(t, signal_.row(t).data(), raw, nullptr);
}

}  // namespace hyper
