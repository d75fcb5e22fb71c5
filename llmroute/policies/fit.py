"""Fit: keep only models that can hold the request (context window) and do what it needs (tools, vision, json)."""

from __future__ import annotations

from collections.abc import Sequence

from .._types import Constraint, Model, Request, Verdict
from .._validate import number

__all__ = ["Fit"]


class Fit:
    """Drop models whose context window cannot hold prompt + output, or that lack a needed capability.

    Output is ``max_tokens`` when the request sets it, else ``output_tokens``, else the router's
    ``default_output_tokens``; ``margin`` is a share of the window kept free because the prompt
    size is an estimate. Models without a known context window are kept.
    """

    name = "fit"

    def __init__(self, *, output_tokens: int | None = None, margin: float = 0.05) -> None:
        number(output_tokens, "fit.output_tokens", minimum=0, integer=True, allow_none=True)
        number(margin, "fit.margin", minimum=0, maximum=1, exclusive_maximum=True)
        self.output_tokens = output_tokens
        self.margin = margin

    def __repr__(self) -> str:
        return f"Fit(output_tokens={self.output_tokens}, margin={self.margin})"

    def __call__(self, request: Request, candidates: Sequence[Model]) -> Verdict:
        needs = request.needs
        prompt = request.input_tokens
        output = request.max_tokens or self.output_tokens or request.default_output_tokens
        wanted = prompt + output

        def why_not(model: Model) -> str | None:
            missing = needs - model.capabilities
            if missing:
                return f"lacks {', '.join(sorted(missing))}"
            if model.context_window is not None:
                usable = int(model.context_window * (1.0 - self.margin))
                if wanted > usable:
                    return f"needs ~{prompt} prompt + {output} output tokens; window {model.context_window}"
            return None

        need_txt = f"needs {', '.join(sorted(needs))}; " if needs else ""
        # A missing capability is hard (a pinned model that lacks tools would fail at the provider,
        # or worse, silently ignore them); the window stays a preference, since the size is estimated.
        hard = (Constraint(self.name, f"request needs {', '.join(sorted(needs))}", needs=needs),) if needs else ()
        return Verdict.filter(
            candidates, why_not, f"{need_txt}~{prompt} + {output} tokens", data={"tokens": wanted}, constraints=hard
        )
