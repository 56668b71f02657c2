"""Makes the golden token ids of the tokenizer test with PyPI tokenizers and the real Qwen3
tokenizer: every GSM8K test question and answer, every HumanEval prompt and canonical solution,
and hand-picked texts (Chinese, emoji, whitespace runs, special tokens, combining marks).
Dataset texts are referenced by file, line and field; the test re-reads them.

    pip install tokenizers
    AHA_DATA_DIR=../shared/data python tests/policy/make_tokenizer_fixture.py
"""
import json
import os
import pathlib

from tokenizers import Tokenizer

ROOT = pathlib.Path(__file__).resolve().parents[2]
DATA = pathlib.Path(os.environ.get("AHA_DATA_DIR", ROOT.parent / "shared" / "data"))
OUT = ROOT / "tests" / "fixtures" / "tokenizer" / "qwen3_ids.jsonl"
TINY = ROOT / "tests" / "fixtures" / "models" / "tiny_with_tokenizer" / "tokenizer.json"
FLAGS = ROOT / "tests" / "fixtures" / "tokenizer" / "flags"
FLAG_TEXTS = ["Tom has 3 apples", "Tom has [SEP] 3 apples", "x  [L]  y", "x  [R]  y", "word[W]word and [W] alone",
              "apples.apples Tom", "<|endoftext|>Tom"]

EXTRA = [
    "", " ", "  ", "\t", "\n", "\r\n", "a\r\nb", "trailing spaces   ", "   leading", "tabs\tand\t\ttabs",
    "mixed \t \n  whitespace\n\n\n", "Hello, world!", "It's, they're, we've, I'm, you'll, he'd",
    "IT'S LOUD'S", "1234567890", "3.14159 and 2,718,281", "$1,000.50 (50%)",
    "你好，世界！今天我们学习数学。", "等等，让我重新检查一下。", "日本語のテキストです", "한국어 텍스트",
    "emoji 😀🎉👍🏽 family 👨‍👩‍👧‍👦 flag 🇫🇷", "zero\u200bwidth\u200djoiner",
    "e\u0301 composed by NFC: caf\u0065\u0301", "A\u030a and \u212b and \u00c5", "ﬁ ligature stays", "\u1100\u1161\u11a8",
    "<|im_start|>user\nWhat is 2+2?<|im_end|>\n<|im_start|>assistant\n", "<|endoftext|><|endoftext|>",
    "<think>\nwait, let me re-check\n</think>\n<answer>4</answer>", "<|im_start|><|im_end|>",
    "x<|im_start|>y", "def f(x):\n    return x ** 2  # square\n", "    \n    \n", "a" * 300, "ab " * 100,
    "\\boxed{\\frac{1}{2}}", "Привет, мир", "مرحبا بالعالم", "שלום", "Ελληνικά", "ÀÉÎÕÜ àéîõü ñ ç",
    "\u00a0non-breaking\u00a0space", "line1\u2028line2", "Ⅻ ½ ² ③", "\U0001d400\U0001d401 math bold",
]


def main():
    tokenizer = Tokenizer.from_file(str(DATA / "tokenizers" / "qwen3" / "tokenizer.json"))
    lines = []

    def add(value, **where):
        lines.append(json.dumps({**where, "ids": tokenizer.encode(value, add_special_tokens=False).ids},
                                ensure_ascii=False))

    for number, line in enumerate(open(DATA / "gsm8k" / "test.jsonl", encoding="utf-8"), 1):
        record = json.loads(line)
        for field in ("question", "answer"):
            add(record[field], file="gsm8k/test.jsonl", line=number, field=field)
    for number, line in enumerate(open(DATA / "humaneval" / "HumanEval.jsonl", encoding="utf-8"), 1):
        record = json.loads(line)
        for field in ("prompt", "canonical_solution"):
            add(record[field], file="humaneval/HumanEval.jsonl", line=number, field=field)
    for text in EXTRA:
        add(text, text=text)
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"{len(lines)} texts -> {OUT.relative_to(ROOT)}")
    make_flag_fixture()


def make_flag_fixture():
    """The tiny tokenizer with ignore_merges and added tokens that lstrip, rstrip and match single words."""
    spec = json.loads(TINY.read_text())
    spec["model"]["ignore_merges"] = True
    next_id = max(spec["model"]["vocab"].values()) + 1
    for offset, (content, flags) in enumerate([("[SEP]", {}), ("[L]", {"lstrip": True}), ("[R]", {"rstrip": True}),
                                               ("[W]", {"single_word": True})]):
        spec["added_tokens"].append({"id": next_id + offset, "content": content, "single_word": False, "lstrip": False,
                                     "rstrip": False, "normalized": False, "special": True, **flags})
    FLAGS.mkdir(parents=True, exist_ok=True)
    (FLAGS / "tokenizer.json").write_text(json.dumps(spec, ensure_ascii=False))
    tokenizer = Tokenizer.from_file(str(FLAGS / "tokenizer.json"))
    expected = [{"text": t, "ids": tokenizer.encode(t, add_special_tokens=False).ids} for t in FLAG_TEXTS]
    (FLAGS / "expected.json").write_text(json.dumps(expected, ensure_ascii=False, indent=1))


if __name__ == "__main__":
    main()
