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
    # whitespace outside ASCII, where regex engines disagree on \s: NEL, Mongolian vowel separator, ideographic
    # space, no-break spaces, information separators, form feed and vertical tab
    "a\u0085b \u0085 c\u0085", "a\u180eb \u180e c", "x\u3000\u3000y \u3000", "a\u00a0\u00a0 b \u202f\u205f",
    "a\x1c\x1d b\x1e\x1f", "page\x0cbreak\x0b tab", "end\u2029para \u2028 \u200a\u2009x",
    # combining marks after spaces, digits and punctuation; emoji modifiers and joiners between words
    " \u0301a 1\u0301 .\u0301 o\u0308\u0304 \u0915\u094d\u200d\u0937", "ok👍🏽ok 🏳️‍🌈 a\u200db \ufeffbom",
    "Ǆǅǆ ﬃ ㎏ Ⓐ ⅷ \u00b5 \u2126 \u0344 \u0958", "\ud7a3\u1100\u1161\u11a8\u11a8 \uac00\u11a8",
]
# id sequences whose decoding is checked too: split multi-byte characters, special tokens mid-text
DECODE_TEXTS = ["😀 世界", "<|im_start|>é<|im_end|>", "caf\u00e9 \u0915\u094d\u0937"]


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
    for text in DECODE_TEXTS:
        ids = tokenizer.encode(text, add_special_tokens=False).ids
        byte_ids = [tokenizer.token_to_id(c) for token in tokenizer.encode(text).tokens
                    for c in ([token] if token.startswith("<|") else token)]
        for sequence in (ids, byte_ids):
            for cut in range(1, len(sequence) + 1):
                lines.append(json.dumps({"decode": sequence[:cut],
                                         "text": tokenizer.decode(sequence[:cut], skip_special_tokens=False)},
                                        ensure_ascii=False))
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"{len(lines)} texts -> {OUT.relative_to(ROOT)}")
    make_flag_fixture()
    make_variant_fixture()


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


def added(content, token_id, **flags):
    return {"id": token_id, "content": content, "single_word": False, "lstrip": False, "rstrip": False,
            "normalized": False, "special": False, **flags}


def byte_level(add_prefix_space=False, use_regex=False):
    return {"type": "ByteLevel", "add_prefix_space": add_prefix_space, "trim_offsets": False, "use_regex": use_regex}


def split(pattern, behavior, invert=False):
    return {"type": "Split", "pattern": pattern, "behavior": behavior, "invert": invert}


def make_variant_fixture():
    """Variants of the tiny tokenizer, each a patch of its top-level keys: every Split behavior with and
    without invert, literal String patterns, ByteLevel's own regex and prefix space, merges as pairs, and
    added tokens matched after NFC or beside non-ASCII letters, digits and whitespace."""
    spec = json.loads(TINY.read_text())
    n = max(spec["model"]["vocab"].values()) + 1
    texts = ["Tom has 12 apples.  Then 3\tmore\n\nnow ", "a1b22c  333 d", " x", "", "\u00e9t\u00e9 12.5 -- ok?",
             "caf\u0065\u0301 [W] caf\u00e9[W]\u00e9 \u0663[W] [W]\u3000x\u3000[L]\u00a0[R]\u2003y",
             "abcd abc ab", "\u3000\u3000[L][R]\u3000[L]"]
    variants = {}
    for behavior in ("Isolated", "Removed", "MergedWithPrevious", "MergedWithNext", "Contiguous"):
        for invert in (False, True):
            variants[f"split {behavior} invert={invert}"] = {
                "pre_tokenizer": {"type": "Sequence", "pretokenizers": [split({"Regex": r"\d|\s+"}, behavior, invert),
                                                                         byte_level()]}}
    variants["split String"] = {"pre_tokenizer": {"type": "Sequence", "pretokenizers": [
        split({"String": "."}, "Isolated"), split({"String": "\u00e9t"}, "Removed"), byte_level()]}}
    variants["ByteLevel regex and prefix space"] = {"pre_tokenizer": byte_level(add_prefix_space=True, use_regex=True)}
    variants["merges as pairs"] = {"model": {**spec["model"], "merges": [m.split(" ") for m in spec["model"]["merges"]]}}
    variants["added tokens after NFC"] = {
        "normalizer": {"type": "Sequence", "normalizers": [{"type": "NFC"}]},
        "added_tokens": spec["added_tokens"] + [
            added("caf\u00e9", n, normalized=True), added("[W]", n + 1, single_word=True), added("[L]", n + 2, lstrip=True),
            added("[R]", n + 3, rstrip=True), added("ab", n + 4), added("abc", n + 5), added("bcd", n + 6, special=True)]}
    out = []
    for name, patch in variants.items():
        path = FLAGS.parent / "variant.json"
        path.write_text(json.dumps({**spec, **patch}, ensure_ascii=False))
        tokenizer = Tokenizer.from_file(str(path))
        path.unlink()
        out.append({"name": name, "patch": patch if name != "merges as pairs" else {"merges_as_pairs": True},
                    "cases": [{"text": t, "ids": tokenizer.encode(t, add_special_tokens=False).ids} for t in texts]})
    (FLAGS.parent / "variants.json").write_text(json.dumps(out, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
