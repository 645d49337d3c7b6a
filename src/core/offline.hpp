#pragma once
// Running a preprocessing chain over a recorded 4D run, volume by volume, exactly as the
// stream's processing thread does (same Tr records, same order, same stage calls).

#include <functional>
#include <string>
#include <vector>

#include "core/chain.hpp"
#include "io/nifti.hpp"

namespace hyper {

// initialize (on the run's geometry), start_run, process every volume, stop_run;
// `on_tr` sees each record after the chain.
void run_chain_offline(Chain& chain, const NiftiRun& run, const std::string& run_id, double tr_s,
                       const std::function<void(const Tr&)>& on_tr);

// The record's output as a grid: the volume, or the features put back at their voxels
// (0 elsewhere). `grid` gets the volume's voxel count.
void output_grid(const Tr& tr, std::vector<float>& grid);

// The chain's input spec for volumes of this geometry.
Spec spec_of(const Volume& v, double tr_s);

}  // namespace hyper
