"""Where an adapter's route really goes, so a model cannot be labelled more private than that.

A model's ``hosting`` is what the Privacy policy trusts. A config that says
``{catalog: gpt-4o-mini, hosting: local}`` or ``LiteLLM("anthropic/...")`` with
``hosting="self_hosted"`` would send sensitive requests to a hosted API; the router refuses such a
label when it is built, unless the model says ``hosting_override=True`` (then it warns). A route
to an address the user gives (``api_base``/``base_url`` other than a known provider's) is the
user's own server: any label is accepted.
"""

from __future__ import annotations

import logging
import warnings
from urllib.parse import urlsplit

from .._types import Model
from ..errors import ConfigError

__all__ = ["check_hosting", "hosted_url", "litellm_hosted"]

_log = logging.getLogger("llmroute")

# litellm provider prefixes whose default endpoint is on the user's own machine or needs an
# address the user gives; every other prefix (litellm knows some 190, most of them hosted
# services, and adds more with each release) counts as hosted: an unknown one fails closed
_OWN_PROVIDERS = frozenset({
    "ollama", "ollama_chat", "lm_studio", "llamafile", "xinference", "vllm", "hosted_vllm",
    "docker_model_runner", "lemonade", "oobabooga", "triton", "custom", "custom_openai",
    "openai_like", "litellm_proxy",
})
# hosts of hosted APIs: a base_url pointing here is not the user's own server
_HOSTED_HOSTS = ("openai.com", "anthropic.com", "googleapis.com", "azure.com", "mistral.ai",
                 "groq.com", "together.xyz", "together.ai", "deepseek.com", "x.ai", "fireworks.ai",
                 "openrouter.ai", "perplexity.ai", "cohere.com", "cohere.ai", "deepinfra.com",
                 "cerebras.ai", "amazonaws.com", "huggingface.co")


def hosted_url(url: str | None) -> bool:
    """Whether ``url`` is a known hosted provider's endpoint (not the user's own server)."""
    host = (urlsplit(url).hostname or "").lower() if url else ""
    return any(host == h or host.endswith("." + h) for h in _HOSTED_HOSTS)


def litellm_hosted(model: str, api_base: str | None) -> bool:
    """Whether litellm sends ``model`` to a hosted provider: no api_base of the user's own and a
    provider prefix not known to run on the user's own machine, or a bare name (gpt-4o-mini,
    claude-...) litellm maps to a hosted provider."""
    if api_base:
        return hosted_url(api_base)
    provider = model.split("/", 1)[0] if "/" in model else None
    # any other prefix (or a bare name litellm maps to its provider) is hosted: unknown fails closed
    return provider not in _OWN_PROVIDERS


def check_hosting(model: Model, where: str) -> None:
    """Refuse a ``local``/``self_hosted`` label on a route that goes to a hosted API."""
    # each built-in adapter says where its route goes (``implied_hosting``); others cannot tell
    implied = getattr(model.adapter, "implied_hosting", None)
    if implied != "api" or model.hosting == "api":
        return
    what = f"{where}.hosting: {model.name!r} is labelled {model.hosting!r} but its adapter sends requests to a hosted API"
    if not model.hosting_override:
        raise ConfigError(
            f"{what.split(': ', 1)[1]}; the Privacy policy would send sensitive data there. Give the "
            "api_base/base_url of your own server, or set hosting_override=True if you are sure",
            path=f"{where}.hosting",
        )
    _log.warning("%s (hosting_override=True)", what)
    warnings.warn(f"{what} (hosting_override=True)", stacklevel=3)
