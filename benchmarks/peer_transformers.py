"""The peer of model_throughput: transformers on the same checkpoint folder, shapes and threads.
    python benchmarks/peer_transformers.py DIR [batch] [seq] [repeats]"""
import sys
import time

import torch
import transformers


def main():
    folder = sys.argv[1]
    batch, seq, repeats = (int(a) for a in (sys.argv[2:5] + ["8", "256", "5"][len(sys.argv) - 2:]))
    model = transformers.AutoModelForCausalLM.from_pretrained(folder, attn_implementation="sdpa").float()
    torch.manual_seed(0)
    ids = torch.randint(0, model.config.vocab_size, (batch, seq))
    mask = torch.ones_like(ids)

    def run(backward):
        if backward:
            logits = model(input_ids=ids, attention_mask=mask).logits
            logits.float().logsumexp(-1).mean().backward()
        else:
            with torch.no_grad():
                model(input_ids=ids, attention_mask=mask)

    for backward in (False, True):
        run(backward)
        start = time.perf_counter()
        for _ in range(repeats):
            run(backward)
        elapsed = (time.perf_counter() - start) / repeats
        name = "forward_backward" if backward else "forward"
        print(f"{name} tokens_per_s={batch * seq / elapsed:.1f} seconds={elapsed:.4f} threads={torch.get_num_threads()}")


if __name__ == "__main__":
    main()
