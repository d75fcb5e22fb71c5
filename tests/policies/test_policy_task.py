"""policies.Task: categories, user examples, ranking, explanation, config, held-out accuracy."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from llmroute import Model, Request
from llmroute.adapters.testing import Function
from llmroute.errors import ConfigError
from llmroute.policies.task import CATEGORIES, Task, TaskClassifier

DATA = Path(__file__).parents[1] / "data" / "task_labelled.jsonl"


def _models(*names: str) -> list[Model]:
    return [Model(n, adapter=Function(lambda req: "ok")) for n in names]


def _request(text: str, **kw: object) -> Request:
    return Request(messages=({"role": "user", "content": text},), **kw)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("text", "category"),
    [
        ("Write a Python function that reverses a string", "code"),
        ("Solve for x: 2x + 3 = 11", "math"),
        ("Translate 'good night' into Italian", "translation"),
        ("Summarise this email thread in two lines: ...", "summarisation"),
        ("Classify the sentiment: 'great service'", "classification"),
        ("Extract the dates from: we met on 3 May and 9 June", "extraction"),
        ("Write a haiku about rain", "writing"),
        ("hey, how are you?", "chat"),
        ("What are the trade-offs of microservices for a small team?", "reasoning"),
    ],
)
def test_builtin_categories(text: str, category: str) -> None:
    assert TaskClassifier().classify(text).category == category


def test_user_category_from_examples_wins_and_explains() -> None:
    policy = Task(
        routes={"legal": ["counsel-model"], "code": ["coder"]},
        examples={"legal": ["Review this NDA clause for risks", "Is this non-compete clause enforceable?"]},
    )
    verdict = policy(_request("Is this indemnity clause in our NDA enforceable?"), _models("small", "coder", "counsel-model"))
    assert verdict.keep[0] == "counsel-model"
    assert verdict.data["category"] == "legal" and verdict.data["nearest"]
    assert "legal" in verdict.reason


def test_ranks_named_models_first_and_keeps_the_rest() -> None:
    policy = Task(routes={"code": ["coder", "missing"]})
    verdict = policy(_request("Fix this bug in my JavaScript loop"), _models("a", "coder", "b"))
    assert verdict.keep == ("coder", "a", "b")
    strict = Task(routes={"code": ["coder"]}, strict=True)(_request("Fix this bug in my JavaScript loop"), _models("a", "coder"))
    assert strict.keep == ("coder",) and "a" in strict.dropped


def test_metadata_overrides_and_unknown_category_is_a_config_error() -> None:
    policy = Task(routes={"math": ["m"]})
    assert policy(_request("hello", metadata={"task": "math"}), _models("x", "m")).keep[0] == "m"
    with pytest.raises(ConfigError, match="unknown category"):
        Task(routes={"poetry": ["m"]})


def test_config_type_task() -> None:
    from llmroute.config import POLICIES, PolicyConfig

    assert POLICIES["task"].endswith(":Task")
    built = PolicyConfig(type="task", routes={"code": ["coder"]}).build("policies[0]")
    assert isinstance(built, Task) and built.routes == {"code": ("coder",)}


def test_held_out_accuracy_meets_the_targets() -> None:
    rows = [json.loads(line) for line in DATA.read_text(encoding="utf-8").splitlines() if line.strip()]
    assert len(rows) >= 300 and {r["category"] for r in rows} == set(CATEGORIES)
    test = [r for r in rows if r["split"] == "test"]
    clf = TaskClassifier()
    right = {c: [0, 0] for c in CATEGORIES}
    for r in test:
        right[r["category"]][1] += 1
        right[r["category"]][0] += clf.classify(r["prompt"]).category == r["category"]
    assert sum(a for a, _ in right.values()) / len(test) >= 0.90
    assert all(a / n >= 0.80 for a, n in right.values())
