"""The README's examples run as written (the hosted models are never called)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import llmroute

README = (Path(__file__).parent.parent / "README.md").read_text()
BLOCKS = re.findall(r"```python\n(.*?)```", README, re.S)


def test_router_example_routes_locally_before_calling() -> None:
    code = BLOCKS[0]
    head, _, rest = code.partition("resp = router.completion")
    scope: dict[str, Any] = {}
    exec(head, scope)
    assert scope["decision"].model == "local-small"  # checked before anything could be sent
    calls = scope["router"].models[0].adapter
    body = "resp = router.completion" + rest.split("router = Router.from_config")[0]
    exec(body, scope)
    assert calls.calls == 1 and scope["resp"].content == "ok"


def test_tenant_policy_example() -> None:
    scope: dict[str, Any] = {}
    exec(BLOCKS[1], scope)
    by_tenant = scope["by_tenant"]
    router = llmroute.Router(
        [
            llmroute.Model("own", llmroute.adapters.Function(lambda r: "x"), hosting="self_hosted"),
            llmroute.Model("api", llmroute.adapters.Function(lambda r: "y"), hosting="api"),
        ],
        [by_tenant],
    )
    messages = [{"role": "user", "content": "hi"}]
    assert router.route(messages, tenant="acme").candidates == ("own",)
    assert router.route(messages).candidates == ("own", "api")
