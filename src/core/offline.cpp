#include "core/offline.hpp"

#include <algorithm>

namespace hyper {

Spec spec_of(const Volume& v, double tr_s) {
  Spec s;
  s.dims = v.dims;
  s.voxel_mm = v.voxel_mm;
  s.affine = v.affine;
  s.tr_s = tr_s;
  return s;
}

void run_chain_offline(Chain& chain, const NiftiRun& run, const std::string& run_id, double tr_s,
                       const std::function<void(const Tr&)>& on_tr) {
  const int64_t n = run.info.dims[3];
  for (int64_t t = 0; t < n; ++t) {
    Tr tr;
    tr.run = run_id;
    tr.index = t;
    tr.n_volumes = n;
    tr.tr_s = tr_s;
    tr.volume = run.volume(t);
    if (t == 0) {
      chain.initialize(spec_of(tr.volume, tr_s));
      chain.start_run({run_id, tr_s, n});
    }
    chain.process(tr);
    on_tr(tr);
  }
  chain.stop_run();
}

void output_grid(const Tr& tr, std::vector<float>& grid) {
  if (!tr.feature_voxels) {
    grid = tr.volume.data;
    return;
  }
  grid.assign(static_cast<size_t>(tr.volume.voxel_count()), 0.0f);
  const auto& idx = *tr.feature_voxels;
  for (size_t i = 0; i < idx.size(); ++i) grid[static_cast<size_t>(idx[i])] = tr.features[i];
}

}  // namespace hyper
