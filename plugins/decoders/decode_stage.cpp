#include "decoders/decode_stage.hpp"

#include <cmath>
#include <stdexcept>

#include <spdlog/fmt/fmt.h>

#include "core/work_pool.hpp"

namespace hyper {

namespace {

class DecodeStage : public Stage {
 public:
  Rebuild rebuild() const override { return Rebuild::Stateless; }  // a voxel map made again on the first volume
  DecodeStage(std::shared_ptr<const Decoder> d, std::string file, int threads)
      : d_(std::move(d)), file_(std::move(file)), threads_(threads) {
    if (d_->mode == "array")
      throw std::invalid_argument("decoder: " + file_ + " decodes response matrices (hyper decode --responses), not volumes; "
                                  "decoding every TR needs a decoder trained on runs with --set train.mode=tr");
    if (d_->mode != "tr")
      throw std::invalid_argument(
          "decoder: " + file_ + " was trained in '" + d_->mode +
          "' mode (one response per trial, from a GLM over the whole run), which `hyper decode` applies offline; "
          "decoding every TR needs a decoder trained with --set train.mode=tr");
    if (d_->weights.cols() != kLatentDim)
      throw std::invalid_argument(fmt::format("decoder: {} predicts {} values, not a {}-d latent", file_,
                                              d_->weights.cols(), kLatentDim));
    const auto k = static_cast<Eigen::Index>(d_->voxels.size());
    x_.resize(k);
    pos_.assign(static_cast<size_t>(k), -1);
    inv_sd_.resize(k);
    for (Eigen::Index s = 0; s < k; ++s) inv_sd_(s) = 1.0f / d_->feature_sd[static_cast<size_t>(s)];
  }

  // Refuses volumes of another grid or TR, naming both.
  void preflight(const Spec& in, Spec& out) const override {
    out = in;
    if (in.dims[0] > 0 && in.dims != d_->dims)
      throw std::invalid_argument(fmt::format("decoder: {} was trained on grid {}x{}x{}, these volumes are {}x{}x{}", file_,
                                              d_->dims[0], d_->dims[1], d_->dims[2], in.dims[0], in.dims[1], in.dims[2]));
    if (in.tr_s > 0 && std::abs(in.tr_s - d_->tr_s) > 1e-6)
      throw std::invalid_argument(
          fmt::format("decoder: {} was trained at TR {} s, these volumes come every {} s", file_, d_->tr_s, in.tr_s));
  }

  void start_run(const RunInfo&) override { mapped_for_ = nullptr, mapped_ = false; }

  // The decoder's voxels, and those a later stage names: all the chain before it must get
  // right. A later stage that names none (the default: a closed-loop protocol, which reads
  // the latent) is not taken to read every voxel: past a decoder the chain's product is the
  // latent, and the volume and features hold the chain's values only at these voxels.
  std::vector<uint8_t> uses(const std::vector<uint8_t>& used) override {
    const int64_t n = d_->dims[0] * d_->dims[1] * d_->dims[2];
    if (n <= 0) return {};  // no grid known: every voxel
    std::vector<uint8_t> at = used.empty() ? std::vector<uint8_t>(static_cast<size_t>(n), 0) : used;
    for (int64_t v : d_->voxels)
      if (v >= 0 && v < n) at[static_cast<size_t>(v)] = 1;
    return at;
  }

  void process(Tr& tr) override {
    const std::vector<float>& v = tr.feature_voxels ? tr.features : tr.volume.data;
    if (!mapped_ || tr.feature_voxels.get() != mapped_for_) map(tr);
    const float* mean = d_->feature_mean.data();
    for (Eigen::Index s = 0; s < x_.size(); ++s) {
      const int64_t p = pos_[static_cast<size_t>(s)];
      // A voxel this run's mask left out sits at the training mean (z = 0).
      x_(s) = p < 0 ? 0.0f : (v[static_cast<size_t>(p)] - mean[s]) * inv_sd_(s);
    }
    Eigen::Map<Eigen::VectorXf> latent(tr.latent.data(), kLatentDim);
    // Each latent value is one column's product with x_, computed alike on any thread: the
    // same latent with any thread count. Two threads read the weights (8 MB at 4096 voxels,
    // out of cache by the next TR) at twice one's rate: 0.32 against 0.48 ms p50 here.
    WorkPool& pool = WorkPool::of_this_thread(threads_);
    const int64_t chunks = pool.map_chunks();
    pool.run(chunks, [&](int64_t c) {
      const auto [j0, j1] = chunk_range(kLatentDim, chunks, c);
      latent.segment(j0, j1 - j0).noalias() = d_->weights.middleCols(j0, j1 - j0).transpose() * x_;
    });
    latent += d_->intercept;
    tr.decoded = true;
  }

 private:
  // Where each decoder voxel sits in this run's output (on a run's first volume).
  void map(const Tr& tr) {
    if (tr.feature_voxels) {
      std::vector<int64_t> at(static_cast<size_t>(tr.volume.voxel_count()), -1);
      const auto& idx = *tr.feature_voxels;
      for (size_t i = 0; i < idx.size(); ++i) at[static_cast<size_t>(idx[i])] = static_cast<int64_t>(i);
      for (size_t s = 0; s < pos_.size(); ++s) pos_[s] = at[static_cast<size_t>(d_->voxels[s])];
    } else {
      for (size_t s = 0; s < pos_.size(); ++s) pos_[s] = d_->voxels[s];
    }
    mapped_for_ = tr.feature_voxels.get();
    mapped_ = true;
  }

  std::shared_ptr<const Decoder> d_;
  std::string file_;
  int threads_ = 1;
  Eigen::VectorXf x_, inv_sd_;
  std::vector<int64_t> pos_;
  const void* mapped_for_ = nullptr;
  bool mapped_ = false;
};

}  // namespace

std::unique_ptr<Stage> make_decode_stage(std::shared_ptr<const Decoder> decoder, std::string file, int threads) {
  return std::make_unique<DecodeStage>(std::move(decoder), std::move(file), threads);
}

Settings decoder_preprocessing(const Settings& user, const Decoder& decoder, const std::string& file) {
  Settings pre(user.schema());
  pre.load_text(decoder.preprocessing, file + " (its preprocessing settings)");
  for (const SettingSpec* spec : user.schema().section("preprocess")) {
    if (user.origin(spec->key) == "default" || user.value(spec->key) == pre.value(spec->key)) continue;
    if (spec->same_numbers) {  // a thread count: the user's machine decides, the numbers stay the decoder's
      pre.apply_value(spec->key, user.value(spec->key), user.origin(spec->key));
      continue;
    }
    throw SettingsError(spec->key + " = " + format_value(user.value(spec->key)) + " (" + user.origin(spec->key) +
                        ") differs from the " + format_value(pre.value(spec->key)) + " that " + file +
                        " was trained with; decoding uses the decoder's preprocessing: drop the setting or retrain");
  }
  return pre;
}

Chain decoding_chain(const PartRegistry& stages, const Settings& user, std::shared_ptr<const Decoder> decoder,
                     const std::string& file) {
  const Settings pre = decoder_preprocessing(user, *decoder, file);
  Chain chain(stages, pre);
  try {
    chain.append("decode", make_decode_stage(std::move(decoder), file, static_cast<int>(pre.get_int("preprocess.decode_threads"))));
  } catch (const std::invalid_argument& e) {
    throw SettingsError(e.what());
  }
  return chain;
}

}  // namespace hyper
