"""Writes llmroute/samples/eval.jsonl: llmroute's own small evaluation sample.

The prompts were written for llmroute (no public benchmark's items). Grades are illustrative:
a hand-set chance that each tier answers each difficulty well, drawn with a fixed seed, and
costs from the sample config's list prices with rough token counts. They show the workflow
(`llmroute eval --sample`), not how these models really perform.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

OUT = Path(__file__).resolve().parents[1] / "llmroute" / "samples" / "eval.jsonl"
PRICES = {"smollm2-135m-local": (0.0, 0.0), "gpt-4o-mini": (0.15, 0.60), "gpt-4o": (2.50, 10.00)}
# chance of a good answer by (model, difficulty)
SKILL = {
    "smollm2-135m-local": {"easy": 0.75, "medium": 0.3, "hard": 0.05},
    "gpt-4o-mini": {"easy": 0.95, "medium": 0.8, "hard": 0.45},
    "gpt-4o": {"easy": 0.97, "medium": 0.9, "hard": 0.75},
}
PROMPTS = {
    "easy": [
        "Say hello to a new teammate in one sentence.",
        "Is this review positive or negative: 'The blender broke on day two.'",
        "Translate 'good morning' into Spanish.",
        "What colour do you get by mixing blue and yellow?",
        "Give a one-word synonym for 'quick'.",
        "Classify the ticket 'cannot log in after password reset' as billing, access or other.",
        "Turn 'meeting moved to 3pm' into a polite one-line message.",
        "Which is larger, 17 or 71?",
        "Write a subject line for an email announcing the office picnic.",
        "Spell the word 'necessary' backwards.",
    ],
    "medium": [
        "Summarise the trade-offs between a message queue and direct HTTP calls between two services.",
        "Write a Python function that returns the n-th Fibonacci number iteratively.",
        "Explain why a hash map lookup is O(1) on average but O(n) in the worst case.",
        "Draft three interview questions for a junior data analyst role, with what a good answer covers.",
        "A shop sells pens at 3 for $2. How much do 14 pens cost if leftovers are sold at $0.70 each?",
        "Rewrite this SQL to avoid the correlated subquery: SELECT name FROM t WHERE x > (SELECT AVG(x) FROM t t2 WHERE t2.g = t.g).",
        "List the steps to rotate a TLS certificate on a load balancer without downtime.",
        "Compare optimistic and pessimistic locking for a ticket booking system.",
        "Write a regular expression that matches ISO dates like 2024-03-09 and explain each part.",
        "Explain the difference between precision and recall with a spam-filter example.",
    ],
    "hard": [
        "Prove that the sum of the first n odd numbers is n squared, then generalise to arithmetic series.",
        "Design a rate limiter for a multi-region API that tolerates a region going offline; discuss consistency.",
        "A train leaves at 9:40 at 72 km/h; another leaves the same station at 10:05 at 90 km/h on the same track. When and where does the second catch up? Show the reasoning.",
        "Find the bug: a binary search loop uses while lo < hi with hi = mid - 1 and returns lo. Give a failing input and the fix.",
        "Derive the expected number of coin flips to see two heads in a row.",
        "Plan a zero-downtime migration of a 2 TB Postgres table to a new partitioned schema, with rollback.",
        "Explain how a transformer's attention cost scales with sequence length and two ways to reduce it, with their trade-offs.",
        "Given a directed graph with negative edges but no negative cycles, choose a shortest-path algorithm and justify it against the alternatives.",
        "Write a concurrency-safe LRU cache in Python and argue why it has no race on eviction.",
        "Estimate how many piano tuners work in a city of 2 million people, stating each assumption.",
    ],
}


def main() -> None:
    rng = random.Random(20261203)
    lines = []
    for difficulty, prompts in PROMPTS.items():
        for i, prompt in enumerate(prompts):
            words = len(prompt.split())
            tokens_in = int(words * 1.4) + 8
            tokens_out = {"easy": 20, "medium": 180, "hard": 420}[difficulty]
            outcomes = {}
            for model, skill in SKILL.items():
                price_in, price_out = PRICES[model]
                outcomes[model] = {
                    "quality": 1.0 if rng.random() < skill[difficulty] else 0.0,
                    "cost": round((tokens_in * price_in + tokens_out * price_out) / 1e6, 8),
                    "input_tokens": tokens_in,
                    "output_tokens": tokens_out,
                }
            lines.append({"id": f"{difficulty}-{i + 1}", "prompt": prompt, "outcomes": outcomes,
                          "metadata": {"difficulty": difficulty}})
    OUT.write_text("".join(json.dumps(line) + "\n" for line in lines), encoding="utf-8")
    print(f"wrote {len(lines)} examples to {OUT}")


if __name__ == "__main__":
    main()
