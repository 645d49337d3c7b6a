#pragma once
// The truth of a twin dataset (display.truth): which face was on screen for a run's volume,
// for the experimenter's views (the screen's truth view, the dashboard's correlation).

#include <array>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>

#include "hyper/tr.hpp"

namespace hyper {

using Latent = std::array<float, kLatentDim>;
// For a run id and volume, the latent of the face presented then (or none).
using Truth = std::function<std::optional<Latent>(const std::string& run, int64_t index)>;

// A BIDS twin dataset with stimuli/latents.npy: the face on screen the canonical
// response's peak delay earlier. Throws naming the file that is wrong.
Truth twin_truth(const std::filesystem::path& dataset);

}  // namespace hyper
