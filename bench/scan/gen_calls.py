#!/usr/bin/env python3
"""Writes an NDJSON call log of ~1 KB lines shaped like a gateway's records.

Usage: gen_calls.py OUT SIZE_MB

Deterministic (fixed seed), so runs compare. Names follow a realistic mix:
mostly registered models and aliases, a steady share of the phantom
Qwen3-Next-80B-Local in several spellings, typos, variants, a retired model,
and a few nameless or broken lines.
"""
import random
import sys

MODELS = (
    [("Qwen3-Next-80B-Optimized", 40), ("qwen3_next_80b_optimized", 12), ("Qwen3-Next-72B-Cloud", 15),
     ("Qwen-Tiny", 8), ("StableDiffusionXL", 3), ("Qwen3-Next-80B-Local", 6), ("qwen3-next-80b-local", 2),
     ("Qwen3_Next_80B_Local_Prod", 1), ("qwen3_next_72b_cloud", 3), ("Qwen3-Next-80B-Optimzed", 1),
     ("Qwen2-7B", 2), ("Llama3-70B-Local", 3)])
POOL = [m for m, w in MODELS for _ in range(w)]
PROMPT = ("Summarize the quarterly GPU utilization report for the inference cluster, list anomalies "
          "by data center and by model, and flag every request whose model name does not match the "
          "registry. Include the served-model id reported by vLLM and the gateway route. ")


def main():
    out, size_mb = sys.argv[1], int(sys.argv[2])
    target = size_mb * 1_000_000
    rnd = random.Random(42)
    written = 0
    i = 0
    t0 = 1767225600  # 2026-01-01T00:00:00Z
    with open(out, "w", buffering=8 << 20) as f:
        batch = []
        while written < target:
            m = POOL[rnd.randrange(len(POOL))]
            ts = t0 + i * 3
            day, rem = divmod(ts - t0, 86400)
            hh, rem = divmod(rem, 3600)
            mm, ss = divmod(rem, 60)
            stamp = "2026-%02d-%02dT%02d:%02d:%02d.%03dZ" % (1 + (day // 28) % 12, 1 + day % 28, hh, mm, ss, i % 1000)
            k = i % 100
            if k == 97:
                name_field = ''  # missing
            elif k == 98:
                name_field = '"model":%d,' % i  # malformed (not a string)
            elif i % 10 < 3:
                name_field = '"request":{"model":"%s","n":1},' % m
            else:
                name_field = '"model":"%s",' % m
            line = ('{"timestamp":"%s","request_id":"req-%010d",%s"caller":"svc-%d.prod.internal",'
                    '"source_ip":"10.%d.%d.%d","route":"/v1/chat/completions","status":200,'
                    '"prompt_tokens":%d,"completion_tokens":%d,"latency_ms":%d,"max_tokens":1024,'
                    '"temperature":0.7,"top_p":0.95,"stream":false,"user":"u-%06d",'
                    '"messages":[{"role":"system","content":"You are a helpful assistant."},'
                    '{"role":"user","content":"%s"}],'
                    '"meta":{"region":"cn-hangzhou","tenant":"t-%d","gpu":"H800-%d","trace":"%016x"}}\n') % (
                stamp, i, name_field, i % 97, i % 250, (i >> 8) % 250, i % 199, 100 + i % 900, i % 700,
                20 + i % 3000, i % 999983, PROMPT * (1 + (i % 3 != 0)), i % 7, i % 8, rnd.getrandbits(64))
            if k == 99:
                line = line[: len(line) // 2] + "\n"  # truncated record: invalid JSON
            batch.append(line)
            written += len(line)
            i += 1
            if len(batch) >= 4096:
                f.write("".join(batch))
                batch.clear()
        f.write("".join(batch))
    print(f"{out}: {written / 1e6:.0f} MB, {i} lines, {written / i:.0f} B/line", file=sys.stderr)


if __name__ == "__main__":
    main()
