"""Peers of benchmarks/reward_throughput.cpp: Math-Verify's verdicts per second on the same pairs
(one process, its own timeout disabled as in a threaded trainer), and the same trivial program run
with plain /usr/bin/python3 subprocesses (the interpreter the sandbox runs), no sandbox, on
every core.

    pip install math-verify[antlr4_13_2]==0.9.0
    python benchmarks/peer_rewards.py ../shared/data/gsm8k/test.jsonl 64
"""
import json
import os
import pathlib
import re
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

from math_verify import ExprExtractionConfig, LatexExtractionConfig, parse, verify


def pairs(gsm8k: str):
    out = []
    inc = pathlib.Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "rewards" / "math_pairs.inc"
    for line in inc.read_text().splitlines():
        if line.startswith("MATH_PAIR("):
            fields = json.loads("[" + re.sub(r"^MATH_PAIR\(\d+,", "", line)[:-1] + "]")
            out.append((fields[1], fields[2]))
    for line in open(gsm8k):
        if line.strip():
            gold = json.loads(line)["answer"].split("####")[-1].strip()
            out += [(gold, gold), (gold, gold + "1")]
    return out


def main() -> None:
    gsm8k, executions = sys.argv[1], int(sys.argv[2])
    config = [LatexExtractionConfig(), ExprExtractionConfig()]
    work = pairs(gsm8k)
    start = time.perf_counter()
    for gold, prediction in work:  # one pass over every pair, the distribution aha cycles through
        verify(parse(f"${gold}$", config, parsing_timeout=None), parse(f"${prediction}$", config, parsing_timeout=None),
               timeout_seconds=None)
    verdicts = len(work)
    print(f"math_verify_verdicts_per_second_per_core {verdicts / (time.perf_counter() - start):.0f}")
    program = "def add(a, b):\n    return a + b\nassert add(1, 2) == 3\n"
    run = lambda _: subprocess.run(["/usr/bin/python3", "-I", "-c", program], check=True)
    start = time.perf_counter()
    with ThreadPoolExecutor(os.cpu_count()) as pool:
        list(pool.map(run, range(executions)))
    print(f"plain_subprocess_executions_per_second {executions / (time.perf_counter() - start):.1f}")


if __name__ == "__main__":
    main()
