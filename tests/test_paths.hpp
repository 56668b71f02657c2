// Where the tests find the checkout, the built `aha` binary and the shared data, and reading a file. CTest runs them in
// the checkout and passes AHA_BINARY; AHA_SOURCE_DIR may point elsewhere when a test binary is run by hand.
#pragma once

#include <filesystem>
#include <string>

std::filesystem::path source_dir();
std::filesystem::path aha_binary();
// The shared data (GSM8K, HumanEval, tokenizers): AHA_DATA_DIR, else ../shared/data beside the
// checkout. Tests that need a missing file skip with a message.
std::filesystem::path data_dir();

// A file's whole contents, byte for byte; empty when it cannot be opened.
std::string read_file(const std::filesystem::path& path);
