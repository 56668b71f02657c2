"""Makes the golden TensorBoard event file with TensorBoard's own writer (PyPI tensorboard, no
TensorFlow): the events the C++ writer test writes, with the same wall times, so the two files
must be byte for byte equal. Then reads it back with TensorBoard's EventAccumulator.

    pip install tensorboard
    python tests/records/make_tensorboard_fixture.py   # writes tests/fixtures/tensorboard/golden.tfevents
"""
import pathlib

from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
from tensorboard.compat.proto import event_pb2, summary_pb2, tensor_pb2, types_pb2
from tensorboard.summary.writer.record_writer import RecordWriter

OUT = pathlib.Path(__file__).resolve().parents[1] / "fixtures" / "tensorboard" / "golden.tfevents"


def main():
    OUT.parent.mkdir(parents=True, exist_ok=True)
    with open(OUT, "wb") as f:
        writer = RecordWriter(f)
        writer.write(event_pb2.Event(wall_time=1000.5, file_version="brain.Event:2").SerializeToString())
        for step, (tag, value) in enumerate([("reward_mean", 0.25), ("accuracy", 0.5), ("reward_mean", -1.75)], 1):
            summary = summary_pb2.Summary(value=[summary_pb2.Summary.Value(tag=tag, simple_value=value)])
            writer.write(event_pb2.Event(wall_time=1000.5 + step, step=step, summary=summary).SerializeToString())
        text = tensor_pb2.TensorProto(dtype=types_pb2.DT_STRING, string_val=["<think>wait, 2+2=4</think>".encode()])
        text.tensor_shape.SetInParent()
        metadata = summary_pb2.SummaryMetadata(plugin_data=summary_pb2.SummaryMetadata.PluginData(plugin_name="text"))
        value = summary_pb2.Summary.Value(tag="samples", tensor=text, metadata=metadata)
        writer.write(event_pb2.Event(wall_time=1010.0, step=10, summary=summary_pb2.Summary(value=[value])).SerializeToString())
    accumulator = EventAccumulator(str(OUT))
    accumulator.Reload()
    print({tag: [(e.step, e.value) for e in accumulator.Scalars(tag)] for tag in accumulator.Tags()["scalars"]})


if __name__ == "__main__":
    main()
