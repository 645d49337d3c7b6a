#pragma once
// Read access to resolved settings (hyper/registry.hpp says who gets which).

#include <cstdint>
#include <string>
#include <vector>

namespace hyper {

// Read access to resolved settings, already checked against their declarations: a stage's
// parameters by their names, a sink's or source's settings by their full keys.
class Params {
 public:
  virtual ~Params() = default;
  virtual bool get_bool(const std::string& name) const = 0;
  virtual int64_t get_int(const std::string& name) const = 0;
  virtual double get_float(const std::string& name) const = 0;
  virtual std::string get_string(const std::string& name) const = 0;
  virtual std::vector<std::string> get_list(const std::string& name) const = 0;
};
using StageParams = Params;

}  // namespace hyper
