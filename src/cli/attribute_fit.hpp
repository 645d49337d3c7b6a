#pragma once
// `hyper train --attribute NAME`: an attribute's direction in the latent space, for the
// attribute protocol (README, "Closed-loop experiments"): a ridge regression of the
// attribute's values (a column of stimuli/attributes.tsv, by stim_index) on the stimulus
// latents, its weights at unit length, written as a .npy of 512 values.

#include <filesystem>
#include <string>

#include <Eigen/Dense>

namespace hyper {

// penalty < 0: chosen by 5-fold cross-validation. Throws SettingsError naming the file or column.
int fit_attribute(const std::filesystem::path& tsv, const std::string& name, const Eigen::MatrixXf& latents, double penalty,
                  const std::filesystem::path& out);

}  // namespace hyper
