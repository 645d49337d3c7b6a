#pragma once
// Decoders of response matrices: one row per trial, one column per voxel, already estimated
// (the released HYPER data holds GLM z-maps of 4096 selected voxels per trial), so no
// preprocessing chain and no voxel selection come between the file and the linear map
// (README, "The paper's own files"). Such a decoder has mode "array": its grid is
// columns x 1 x 1, its voxels are the columns in order, and its features are used as they are
// (mean 0, s.d. 1). The stream refuses it: it decodes matrices, not volumes.

#include <filesystem>
#include <functional>
#include <string>

#include <Eigen/Dense>

#include "decoders/decoder.hpp"

namespace hyper {

// A decoder of these weights (columns x 512) and intercept; `estimator` says where they came
// from (e.g. "chainer L.Linear, l0_s1_5000_final.model").
Decoder array_decoder(const Eigen::MatrixXf& weights, const Eigen::VectorXf& intercept, const std::string& estimator);

// Fits on trials x columns responses and trials x 512 latents. penalty >= 0: that ridge
// penalty (0: least squares, the minimum-norm solution when columns outnumber trials);
// < 0: chosen over `penalties` by cross-validation over `folds` contiguous blocks of trials
// (the paper's 1050 training trials are 6 runs of 175 in order, so 6 folds leave a run out).
Decoder train_array_decoder(const Eigen::MatrixXf& responses, const Eigen::MatrixXf& latents, double penalty, int folds,
                            const std::vector<double>& penalties, const std::function<void(const std::string&)>& progress);

// Predicted latents, one row per response row. Throws when `d` is not an array decoder or the
// column count differs from its.
Eigen::MatrixXf decode_array(const Decoder& d, const Eigen::MatrixXf& responses, const std::string& file);

// A 2-D .npy as a float matrix; throws naming the file and `what` it should hold.
Eigen::MatrixXf read_matrix(const std::filesystem::path& npy, const std::string& what);

}  // namespace hyper
