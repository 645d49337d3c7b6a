// The one explicit list of HYPER-RT's built-in stages (no static self-registration, which
// the linker may drop).
#include "core/stage_registry.hpp"
#include "preprocess/stages.hpp"

namespace hyper {

void register_builtin_stages(Registry& r) {
  register_realign(r);
  register_smooth(r);
  register_mask(r);
  register_detrend(r);
  register_zscore(r);
}

}  // namespace hyper
