#pragma once
// The `decode` stage: the last stage of a chain that carries a decoder. Every TR it maps
// the chain's output at the decoder's voxels to the 512-d latent (z-score with the training
// statistics, then one GEMV with the k x 512 weights, plus the intercept) into tr.latent.
// Nothing is allocated per TR: the voxel positions are found on a run's first volume.
// Not in preprocess.chain: `hyper stream` and `hyper decode` append it to the decoder's own
// chain, so that decoding always sees what training saw.

#include <memory>
#include <string>

#include "decoders/decoder.hpp"
#include "hyper/stage.hpp"

namespace hyper {

// `threads` share each TR's product (preprocess.decode_threads; the same latent with any number).
std::unique_ptr<Stage> make_decode_stage(std::shared_ptr<const Decoder> decoder, std::string file, int threads = 1);

// The [preprocess] settings a decoder was trained with. A preprocess key the user set
// (not a default) to another value is a SettingsError naming the key, both values and
// where each came from: decoding must see what training saw. Keys that cannot change the
// numbers (SettingSpec::same_numbers: thread counts) take the user's value instead.
Settings decoder_preprocessing(const Settings& user, const Decoder& decoder, const std::string& file);

// That chain with the decode stage appended.
Chain decoding_chain(const PartRegistry& stages, const Settings& user, std::shared_ptr<const Decoder> decoder,
                     const std::string& file);

}  // namespace hyper
