// Where the tests find the checkout and the built `aha` binary. CTest runs them in the checkout
// and passes AHA_BINARY; AHA_SOURCE_DIR may point elsewhere when a test binary is run by hand.
#pragma once

#include <filesystem>

std::filesystem::path source_dir();
std::filesystem::path aha_binary();
