// hyper: the one executable. The list of subcommands is written here, once.
#include "cli/command.hpp"

int main(int argc, char** argv) {
  return hyper::run_cli(argc, argv, {hyper::simulate_command(), hyper::replay_command(), hyper::stream_command(),
                                    hyper::preprocess_command(), hyper::train_command(), hyper::decode_command(),
                                    hyper::render_command(), hyper::eval_command(), hyper::bench_command(), hyper::demo_command(),
                                    hyper::bridge_command(), hyper::session_command(), hyper::keys_command(), hyper::import_hyper_command()});
}
