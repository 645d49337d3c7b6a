#include "io/tsv.hpp"

#include <fstream>
#include <sstream>
#include <stdexcept>

namespace hyper {

std::vector<double> read_tsv_column(const std::filesystem::path& path, const std::string& name) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error(path.string() + ": cannot open");
  std::string line, cell;
  if (!std::getline(in, line)) throw std::runtime_error(path.string() + ": empty (no header line)");
  int col = -1, i = 0;
  for (std::stringstream h(line); std::getline(h, cell, '\t'); ++i)
    if (cell == name) col = i;
  if (col < 0) throw std::runtime_error(path.string() + ": no column '" + name + "' in its header");
  std::vector<double> out;
  for (int number = 2; std::getline(in, line); ++number) {
    if (line.empty()) continue;
    std::stringstream r(line);
    int k = 0;
    while (k <= col && std::getline(r, cell, '\t')) ++k;
    try {
      size_t used = 0;
      if (k <= col) throw std::invalid_argument("missing");
      out.push_back(std::stod(cell, &used));
      if (used != cell.size()) throw std::invalid_argument("trailing characters");
    } catch (const std::exception&) {
      throw std::runtime_error(path.string() + ":" + std::to_string(number) + ": column '" + name + "' is not a number ('" +
                               (k <= col ? std::string() : cell) + "')");
    }
  }
  return out;
}

}  // namespace hyper
