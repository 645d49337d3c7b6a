#pragma once
// What `hyper train` and `hyper demo` share: the training options from [train] and
// [preprocess], and which runs train.

#include "core/settings.hpp"
#include "decoders/decoder.hpp"

namespace hyper {

TrainOptions train_options(const Settings& settings);
// A run whose events are all trial_type train (a run with test trials is never trained on).
bool is_training_run(const RunFile& run);
// The stimulus latents (.npy, stimuli x 512); throws naming the file.
Eigen::MatrixXf read_latents(const std::filesystem::path& path);

}  // namespace hyper
