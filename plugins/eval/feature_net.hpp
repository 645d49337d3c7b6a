#pragma once
// A user-supplied feature network for hyper eval's feature similarity (the paper used the
// 2048-d pooled features of VGGFace's ResNet-50, which cannot be downloaded here). The
// contract, checked at load with one forward:
//   forward(Tensor images [N, 3, S, S] float32, RGB in [0, 1]) -> Tensor [N, ...] (flattened)
// S is eval.image_size (224). Any input normalisation the network needs (mean subtraction,
// BGR order) belongs inside the exported module. Torch stays inside feature_net.cpp.

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include <Eigen/Dense>

namespace hyper {

class FeatureNet {
 public:
  // Throws std::runtime_error naming the file when it is not a module keeping the contract.
  FeatureNet(const std::string& path, const std::string& device, int size);
  ~FeatureNet();
  FeatureNet(const FeatureNet&) = delete;
  FeatureNet& operator=(const FeatureNet&) = delete;

  std::string describe() const;  // "PATH: 2048 features of 224x224 RGB, cpu"
  int size() const;
  // Images: 8-bit RGB, size x size each; one row of features per image.
  Eigen::MatrixXd features(const std::vector<std::vector<uint8_t>>& rgb);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace hyper
