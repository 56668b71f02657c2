"""Makes the fixture of the `aha logprobs` test: a tiny random qwen3 model saved by transformers
with a small byte-level BPE tokenizer trained by tokenizers (GPT-2 style ByteLevel pre-tokenizer,
merges written as "a b" strings), and the ids and per-token log-probs transformers computes for
a text.

    pip install torch transformers tokenizers
    python tests/cli/make_logprobs_fixture.py   # writes tests/fixtures/models/tiny_with_tokenizer/
"""
import json
import pathlib

import torch
import transformers
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

OUT = pathlib.Path(__file__).resolve().parents[1] / "fixtures" / "models" / "tiny_with_tokenizer"
CORPUS = ["A conversation between User and Assistant. The user asks a question.",
          "<think> 3 + 4 = 7. Wait, let me re-check: 3 + 4 = 7. </think> <answer> 7 </answer>",
          "Tom has 3 apples. Tom gets 4 more. How many apples does Tom have now?"] * 20
TEXT = "Tom has 12 apples. <think> 12 + 5 = 17. </think> <answer> 17 </answer>"


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=300, special_tokens=["<|endoftext|>"],
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tokenizer.train_from_iterator(CORPUS, trainer)
    tokenizer.save(str(OUT / "tokenizer.json"))
    saved = json.loads((OUT / "tokenizer.json").read_text())
    saved["model"]["merges"] = [" ".join(m) if isinstance(m, list) else m for m in saved["model"]["merges"]]
    (OUT / "tokenizer.json").write_text(json.dumps(saved, ensure_ascii=False))
    (OUT / "tokenizer_config.json").write_text(json.dumps({"eos_token": "<|endoftext|>", "pad_token": "<|endoftext|>"}))

    torch.manual_seed(3)
    config = transformers.Qwen3Config(vocab_size=tokenizer.get_vocab_size(), hidden_size=64, intermediate_size=96,
                                      num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2, head_dim=16,
                                      initializer_range=0.1, tie_word_embeddings=False)
    model = transformers.Qwen3ForCausalLM(config).float().eval()
    model.save_pretrained(OUT)
    reloaded = Tokenizer.from_file(str(OUT / "tokenizer.json"))
    ids = reloaded.encode(TEXT).ids
    with torch.no_grad():
        logits = model(torch.tensor([ids])).logits[0]
    logprobs = torch.log_softmax(logits[:-1].float(), -1).gather(1, torch.tensor(ids[1:]).unsqueeze(1)).squeeze(1)
    (OUT / "expected.json").write_text(json.dumps({"text": TEXT, "ids": ids, "logprobs": logprobs.tolist()}))
    print(f"{len(ids)} tokens, vocab {tokenizer.get_vocab_size()}")


if __name__ == "__main__":
    main()
