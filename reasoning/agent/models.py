"""Which language model the agent uses, from one configuration string.

=================================  ====================================================================
``none`` or unset                  no model: answers come from the deterministic planner
``ollama:<name>``                  an Ollama server; base URL from ``OLLAMA_BASE_URL``
                                   (default ``http://127.0.0.1:11434/v1``)
``openai-compatible:<name>``       any OpenAI-compatible server; ``GRIDSAGE_OPENAI_BASE_URL`` (required),
                                   ``GRIDSAGE_OPENAI_API_KEY`` (optional)
``local-gguf:<path>``              a GGUF file run in-process by ``xllamacpp`` (extra ``[local]``);
                                   ``GRIDSAGE_CHAT_TEMPLATE`` overrides the model's chat template
=================================  ====================================================================

The spec comes from ``--model`` or the environment variable ``GRIDSAGE_MODEL``.
Every client is built without retries and with a timeout
(``GRIDSAGE_MODEL_TIMEOUT_S``, default 120 s; 900 s for a local GGUF, whose first
reply on 2 cores takes minutes), so an unreachable server fails fast and the chat falls back to the planner instead of hanging.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from gridsage.errors import InputError

MODEL_ENV = "GRIDSAGE_MODEL"
DEFAULT_OLLAMA_URL = "http://127.0.0.1:11434/v1"
PREFIXES = ("ollama", "openai-compatible", "local-gguf")


@dataclass(frozen=True)
class ModelSpec:
    """A parsed model configuration.

    Parameters
    ----------
    kind : {'ollama', 'openai-compatible', 'local-gguf'}
    name : str
        Model name on the server, or the GGUF path.
    base_url : str or None
        Server URL (ollama, openai-compatible).
    api_key : str or None
    timeout_s : float
        Per-request timeout [s].
    """

    kind: str
    name: str
    base_url: str | None = None
    api_key: str | None = None
    timeout_s: float = 120.0

    @property
    def label(self) -> str:
        """``'<kind>:<name>'``, as the user wrote it."""
        return f"{self.kind}:{self.name}"


def parse_model_spec(spec: str | None) -> ModelSpec | None:
    """Parse a model spec (default: ``$GRIDSAGE_MODEL``); ``None`` means no model.

    Raises
    ------
    InputError
        If the prefix is unknown, the name is empty, or a required URL is missing.
    """
    spec = (spec if spec is not None else os.environ.get(MODEL_ENV, "")).strip()
    if spec.lower() in ("", "none"):
        return None
    kind, _, name = spec.partition(":")
    if kind not in PREFIXES or not name:
        raise InputError(f"model spec {spec!r} is not understood", field="model",
                         fix="use ollama:<name>, openai-compatible:<name>, local-gguf:<path>, or none.")
    # a local 1.5B model on 2 cores reads GridSage's full tool list for 2-4 minutes before its first reply (measured)
    timeout = float(os.environ.get("GRIDSAGE_MODEL_TIMEOUT_S", "900" if kind == "local-gguf" else "120"))
    if kind == "ollama":
        return ModelSpec(kind, name, os.environ.get("OLLAMA_BASE_URL") or DEFAULT_OLLAMA_URL, None, timeout)
    if kind == "openai-compatible":
        url = os.environ.get("GRIDSAGE_OPENAI_BASE_URL")
        if not url:
            raise InputError("openai-compatible models need a base URL", field="GRIDSAGE_OPENAI_BASE_URL",
                             fix="set GRIDSAGE_OPENAI_BASE_URL, e.g. http://127.0.0.1:8000/v1.")
        return ModelSpec(kind, name, url, os.environ.get("GRIDSAGE_OPENAI_API_KEY"), timeout)
    return ModelSpec(kind, name, None, None, timeout)


def build_model(spec: ModelSpec):
    """The pydantic-ai model for ``spec``: no retries, a request timeout.

    Returns
    -------
    pydantic_ai.models.Model

    Raises
    ------
    InputError
        If a local GGUF file is missing or ``xllamacpp`` is not installed.
    """
    from openai import AsyncOpenAI
    from pydantic_ai.models.openai import OpenAIChatModel
    from pydantic_ai.providers.openai import OpenAIProvider

    if spec.kind == "local-gguf":
        from gridsage.reasoning.agent.local_llm import serve_gguf

        base_url = serve_gguf(spec.name)
        api_key = "local"
    else:
        base_url, api_key = spec.base_url, spec.api_key or "none"
    client = AsyncOpenAI(base_url=base_url, api_key=api_key, max_retries=0, timeout=spec.timeout_s)
    if spec.kind == "ollama":
        from pydantic_ai.models.ollama import OllamaModel
        from pydantic_ai.providers.ollama import OllamaProvider

        return OllamaModel(spec.name, provider=OllamaProvider(openai_client=client))
    return OpenAIChatModel(spec.name, provider=OpenAIProvider(openai_client=client))
