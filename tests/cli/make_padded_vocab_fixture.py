"""Makes tests/fixtures/models/padded_vocab/: a tiny random qwen3 saved by transformers whose embedding and LM head
have 64 rows past its tokenizer's 300 ids (as Qwen2.5 and Qwen3 checkpoints pad theirs), those LM head rows large
enough that their logits win, with the tokenizer of tiny_with_tokenizer. expected.json holds the ids of a text and
the log-probs transformers gives its tokens over the tokenizer's ids only (the padded logits masked out), and how
often the padded rows win the argmax unmasked.

    pip install torch transformers
    python tests/cli/make_padded_vocab_fixture.py
"""
import json
import pathlib
import shutil

import torch
import transformers

FIXTURES = pathlib.Path(__file__).resolve().parents[1] / "fixtures" / "models"
OUT = FIXTURES / "padded_vocab"
TEXT = "Tom has 12 apples. <think> 12 + 5 = 17. </think> <answer> 17 </answer>"
IDS, PADDED = 300, 64


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    for file in ("tokenizer.json", "tokenizer_config.json"):
        shutil.copyfile(FIXTURES / "tiny_with_tokenizer" / file, OUT / file)
    torch.manual_seed(5)
    config = transformers.Qwen3Config(vocab_size=IDS + PADDED, hidden_size=64, intermediate_size=96,
                                      num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2, head_dim=16,
                                      initializer_range=0.1, tie_word_embeddings=False, eos_token_id=0)
    model = transformers.Qwen3ForCausalLM(config).float().eval()
    with torch.no_grad():
        model.lm_head.weight[IDS:].normal_(0.0, 50.0)
    model.save_pretrained(OUT)
    ids = transformers.AutoTokenizer.from_pretrained(OUT)(TEXT)["input_ids"]
    with torch.no_grad():
        logits = model(torch.tensor([ids])).logits[0, :-1].float()
    logprobs = torch.log_softmax(logits[:, :IDS], -1).gather(1, torch.tensor(ids[1:]).unsqueeze(1)).squeeze(1)
    padded_wins = int((logits.argmax(-1) >= IDS).sum())
    (OUT / "expected.json").write_text(json.dumps({"text": TEXT, "ids": ids, "logprobs": logprobs.tolist(),
                                                   "tokenizer_ids": IDS, "padded_argmax": padded_wins}))
    print(f"{len(ids)} tokens; the padded rows win the argmax at {padded_wins} of {len(ids) - 1} positions")


if __name__ == "__main__":
    main()
