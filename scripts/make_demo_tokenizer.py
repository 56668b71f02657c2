"""Trains the embedded demo's tokenizer with PyPI tokenizers and writes configs/zero-demo/
tokenizer.json and tokenizer_config.json: a byte-level BPE of 1,024 tokens in the Qwen style
(digits split one by one, the same pre-tokenizer regex), trained on the R1-Zero prompt and text
shaped like the demo's arithmetic problems and traces. Byte-level, so any text encodes.

    pip install tokenizers
    python scripts/make_demo_tokenizer.py
"""
import json
import pathlib
import random

from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, trainers

OUT = pathlib.Path(__file__).resolve().parents[1] / "configs" / "zero-demo"
QWEN_SPLIT = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+"
              r"|\s+(?!\S)|\s+")
TEMPLATE = ("A conversation between User and Assistant. The user asks a question, and the Assistant solves it. The "
            "assistant first thinks about the reasoning process in the mind and then provides the user with the "
            "answer. The reasoning process and answer are enclosed within <think> </think> and <answer> </answer> "
            "tags, respectively, i.e., <think> reasoning process here </think> <answer> answer here </answer>. User: "
            "{question}. Assistant:")
NAMES = ["Tom", "Mia", "Sam", "Ana", "Leo", "Ivy", "Max", "Zoe"]
ITEMS = ["apples", "marbles", "coins", "books", "stickers", "shells", "cards", "pens"]


def corpus():
    rng = random.Random(0)
    for _ in range(4000):
        who, item = rng.choice(NAMES), rng.choice(ITEMS)
        question = (f"{who} has {rng.randint(2, 20)} {item}. {who} gets {rng.randint(1, 15)} more. Then gives away "
                    f"{rng.randint(1, 9)}. Then then has {rng.randint(2, 3)} times as many {item}. How many {item} "
                    f"does {who} have now?")
        yield TEMPLATE.format(question=question)
        a, b = rng.randint(1, 60), rng.randint(1, 15)
        yield (f" <think> {a} + {b} = {a + b}. {a + b} - 1 = {a + b - 1}. Wait, let me re-check: {a} * 2 = {a * 2}. "
               f"</think> <answer> {a + b} </answer>")


def main():
    tokenizer = Tokenizer(models.BPE())
    tokenizer.normalizer = normalizers.NFC()
    tokenizer.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex(QWEN_SPLIT), behavior="isolated"),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False)])
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=1024, special_tokens=["<|endoftext|>", "<|pad|>"],
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tokenizer.train_from_iterator(corpus(), trainer)
    OUT.mkdir(parents=True, exist_ok=True)
    tokenizer.save(str(OUT / "tokenizer.json"))
    (OUT / "tokenizer_config.json").write_text(json.dumps({"eos_token": "<|endoftext|>", "pad_token": "<|pad|>"}, indent=1) + "\n")
    print(f"vocab {tokenizer.get_vocab_size()}; template + question = "
          f"{len(tokenizer.encode(TEMPLATE.format(question='Tom has 3 apples. How many apples does Tom have now?')).ids)} tokens")


if __name__ == "__main__":
    main()
