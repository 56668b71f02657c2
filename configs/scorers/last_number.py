"""A reward program for rule = "command": 1 when the completion's last number equals the reference
answer, with a flag saying whether it showed its work; any language works the same way.

It reads one JSON object per line on stdin (the data record's fields, "prompt", "completion" and
"completion_tokens") and writes one line per record on stdout, in the same order: a number, or an
object {"score": x, ...} whose other fields become flags ("correct" counts towards accuracy).
aha starts it once and keeps it running, so set-up work (loading a model, a verifier) is paid once.
"""
import json
import re
import sys

NUMBER = re.compile(r"-?\d[\d,]*(?:\.\d+)?")


def score(record):
    numbers = NUMBER.findall(record["completion"])
    reference = str(record.get("answer", "")).split("####")[-1].strip().replace(",", "")
    correct = bool(numbers) and numbers[-1].replace(",", "") == reference
    return {"score": float(correct), "correct": correct, "showed_work": "=" in record["completion"]}


for line in sys.stdin:
    print(json.dumps(score(json.loads(line))), flush=True)
