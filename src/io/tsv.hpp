#pragma once
// Reading one numeric column of a tab-separated file with a header line (the run records'
// tr.tsv, frames.tsv, presented.tsv).

#include <filesystem>
#include <string>
#include <vector>

namespace hyper {

// Throws std::runtime_error naming the file, and the column or line that is wrong.
std::vector<double> read_tsv_column(const std::filesystem::path& path, const std::string& name);

}  // namespace hyper
