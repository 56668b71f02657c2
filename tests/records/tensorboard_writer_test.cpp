// The TensorBoard writer against TensorBoard's own writer: the same events give the same bytes
// (fixture from tests/records/make_tensorboard_fixture.py, which also reads it back with TensorBoard).
#include <catch2/catch.hpp>

#include <fstream>
#include <sstream>

#include "records/tensorboard_writer.hpp"
#include "tests/test_paths.hpp"

using namespace aha::records;

namespace {}  // namespace

TEST_CASE("CRC-32C of the standard check string") { CHECK(crc32c("123456789") == 0xe3069283u); }

TEST_CASE("scalar and text events are byte-identical to TensorBoard's writer") {
  const auto dir = std::filesystem::temp_directory_path() / ("aha-tb-" + std::to_string(::getpid()));
  std::filesystem::remove_all(dir);
  std::filesystem::path written;
  {
    TensorBoardWriter writer(dir, 1000.5);
    writer.scalar("reward_mean", 0.25, 1, 1001.5);
    writer.scalar("accuracy", 0.5, 2, 1002.5);
    writer.scalar("reward_mean", -1.75, 3, 1003.5);
    writer.text("samples", "<think>wait, 2+2=4</think>", 10, 1010.0);
    writer.flush();
    written = writer.path();
  }
  CHECK(written.filename().string().starts_with("events.out.tfevents.1000."));
  CHECK(read_file(written) == read_file(source_dir() / "tests/fixtures/tensorboard/golden.tfevents"));
  std::filesystem::remove_all(dir);
}
