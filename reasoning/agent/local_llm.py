"""A GGUF model served in-process by llama.cpp, for ``--model local-gguf:<path>``.

:func:`serve_gguf` loads a GGUF file with ``xllamacpp`` (the optional extra
``gridsage[local]``), starts llama.cpp's OpenAI-compatible HTTP server inside
this process on ``127.0.0.1`` and a free port, and returns its ``/v1`` base
URL; :func:`gridsage.reasoning.agent.models.build_model` points an OpenAI client at
it.  One server runs per file (and chat template) and process.

Tool calls are the fragile part.  llama.cpp derives its tool-call parser from
the chat template: it renders a sample assistant tool call with the template
and then looks for the same markers in what the model writes.  Qwen2.5-Coder's
own template asks for ``<tool_call>`` tags, but the 1.5B coder model answers
with fenced ```` ```json ```` blocks instead, which come back as plain text, so
no tool runs (measured: 0 of 5).  :data:`FENCED_JSON_TEMPLATE` is ChatML with
tool calls written as fenced JSON blocks, so the markers the model uses are
the ones llama.cpp parses.  It also tells the model to call one function per
reply, not to repeat calls, and to answer through pydantic-ai's
``final_result`` tool when one is offered (without that line the model kept
calling tools until the loop guard stopped it), and it lists the tools before
the system prompt, so the long tool list stays in llama.cpp's prompt cache
when the study context changes.  It is the default for ChatML models (whose
own template uses ``<|im_start|>``); other models keep their own template.

Sampling defaults to temperature 0 (greedy): a request that sets its own
temperature still overrides it.

A small local model is for plumbing and demos, not for operations: check its
answers with the planner (``gridsage chat`` without ``--model``).
"""

from __future__ import annotations

import functools
import os
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from gridsage.errors import GridSageError, InputError

#: environment variable: a chat-template file or template text, or ``model`` for the GGUF's own
TEMPLATE_ENV = "GRIDSAGE_CHAT_TEMPLATE"
#: default context window [tokens]: GridSage's tool schemas, a few tool results and the answer
DEFAULT_CONTEXT = 16384
#: default bound on the tokens generated per request
DEFAULT_MAX_TOKENS = 2048
#: how long to wait for a loaded server to answer ``/health`` [s]
DEFAULT_WAIT_S = 60.0

#: ChatML with tool calls as fenced JSON blocks (see the module docstring)
FENCED_JSON_TEMPLATE = r"""{%- macro render_content(content) -%}
{%- if content is string -%}{{- content -}}
{%- elif content is iterable -%}{%- for part in content -%}{%- if part.type == 'text' -%}{{- part.text -}}{%- endif -%}{%- endfor -%}
{%- endif -%}
{%- endmacro -%}
{%- if messages[0].role == 'system' -%}
{%- set system_message = render_content(messages[0].content) -%}
{%- set loop_messages = messages[1:] -%}
{%- else -%}
{%- set system_message = 'You are a helpful assistant.' -%}
{%- set loop_messages = messages -%}
{%- endif -%}
{{- '<|im_start|>system\n' -}}
{%- if tools -%}
{{- '# Tools\n\nYou can call these functions:\n' -}}
{%- set ns = namespace(answer_tool='') -%}
{%- for tool in tools -%}
{%- if tool.function is defined -%}{%- set tool = tool.function -%}{%- endif -%}
{%- if tool.name == 'final_result' -%}{%- set ns.answer_tool = tool.name -%}{%- endif -%}
{{- (tool | tojson) + '\n' -}}
{%- endfor -%}
{{- '\nTo call a function, reply with only a fenced JSON block, and nothing before or after it:\n```json\n{"name": <function-name>, "arguments": <arguments-object>}\n```\n' -}}
{{- 'Call one function per reply. Each result comes back in <tool_response>; never repeat a call, use its result. ' -}}
{%- if ns.answer_tool -%}
{{- 'When the results answer the question, give your answer by calling ' + ns.answer_tool + '.\n\n' -}}
{%- else -%}
{{- 'When the results answer the question, reply with your answer.\n\n' -}}
{%- endif -%}
{%- endif -%}
{{- system_message -}}
{{- '<|im_end|>\n' -}}
{%- for message in loop_messages -%}
{%- if message.role == 'assistant' and message.tool_calls -%}
{{- '<|im_start|>assistant' -}}
{%- if message.content -%}{{- '\n' + render_content(message.content) -}}{%- endif -%}
{%- for tool_call in message.tool_calls -%}
{%- if tool_call.function is defined -%}{%- set tool_call = tool_call.function -%}{%- endif -%}
{%- set arguments = tool_call.arguments -%}
{%- if arguments is string -%}{%- set arguments_json = arguments -%}{%- else -%}{%- set arguments_json = arguments | tojson -%}{%- endif -%}
{{- '\n```json\n{"name": "' + tool_call.name + '", "arguments": ' + arguments_json + '}\n```' -}}
{%- endfor -%}
{{- '<|im_end|>\n' -}}
{%- elif message.role == 'tool' -%}
{%- if loop.first or loop_messages[loop.index0 - 1].role != 'tool' -%}{{- '<|im_start|>user' -}}{%- endif -%}
{{- '\n<tool_response>\n' + render_content(message.content) + '\n</tool_response>' -}}
{%- if loop.last or loop_messages[loop.index0 + 1].role != 'tool' -%}{{- '<|im_end|>\n' -}}{%- endif -%}
{%- else -%}
{{- '<|im_start|>' + message.role + '\n' + render_content(message.content) + '<|im_end|>\n' -}}
{%- endif -%}
{%- endfor -%}
{%- if add_generation_prompt -%}
{{- '<|im_start|>assistant\n' -}}
{%- endif -%}
"""


@dataclass
class _Running:
    server: Any  # xllamacpp.Server: the model and its HTTP server live as long as this object
    base_url: str


_SERVERS: dict[tuple[str, str | None, int], _Running] = {}
_LOCK = threading.Lock()


def serve_gguf(path: str, chat_template: str | None = None, *, context_tokens: int = DEFAULT_CONTEXT,
               threads: int | None = None, temperature: float = 0.0, max_tokens: int = DEFAULT_MAX_TOKENS,
               wait_s: float = DEFAULT_WAIT_S, verbose: bool = False) -> str:
    """Serve a GGUF model over llama.cpp's OpenAI-compatible API, in this process.

    The first call for a file loads it (a few seconds, and about 2 GB of
    memory for a 1.5B model); later calls for the same file, chat template
    and context return the running server's URL, whatever their other
    arguments.  The server listens on ``127.0.0.1`` only, on a free port, and
    runs until :func:`stop_servers` or the end of the process.

    Parameters
    ----------
    path : str
        The GGUF model file.
    chat_template : str, optional
        A Jinja chat template, the path of a file holding one, or ``'model'``
        for the template stored in the GGUF.  Default:
        ``$GRIDSAGE_CHAT_TEMPLATE`` (same forms), else
        :data:`FENCED_JSON_TEMPLATE` for ChatML models (Qwen2.5 and kin) and
        the GGUF's own template for the others.
    context_tokens : int, default 16384
        Context window [tokens]; 0 takes the model's training context.
        GridSage's tool schemas alone take about 6,700 tokens.
    threads : int, optional
        CPU threads for inference [-]; default: every CPU this process may use.
    temperature : float, default 0.0
        Default sampling temperature [-]; 0 is greedy decoding.  A request
        that sets its own temperature overrides it.
    max_tokens : int, default 2048
        Most tokens generated for one request [tokens], unless the request
        sets its own: bounds a model that never stops (about 3-4 min at
        10 tokens/s).
    wait_s : float, default 60
        How long to wait, once the model is loaded, for the server to answer
        its health check [s].
    verbose : bool, default False
        Let llama.cpp log its progress and timings to stderr; otherwise it
        logs warnings and errors only (never to stdout).

    Returns
    -------
    str
        The base URL of the OpenAI-compatible API, ``http://127.0.0.1:<port>/v1``.

    Raises
    ------
    InputError
        If ``xllamacpp`` is not installed, the file does not exist or is not
        a GGUF file, or the chat template is neither Jinja text nor a
        readable file.
    GridSageError
        If llama.cpp cannot load the model, or the server does not answer
        within ``wait_s``.

    Notes
    -----
    Measured with Qwen2.5-Coder-1.5B-Instruct Q4_K_M on 2 CPU cores:
    loading 3-8 s; prompt processing 30-80 tokens/s and generation
    8-19 tokens/s depending on what else the machine runs.  llama.cpp keeps
    the processed prompt, so a later request that starts the same way (the
    same tools) only processes what is new; this template therefore puts the
    tool list before the system prompt, whose study context changes.

    References
    ----------
    .. [1] llama.cpp HTTP server, https://github.com/ggml-org/llama.cpp/tree/master/tools/server
    .. [2] xllamacpp, Python bindings for llama.cpp's server, https://github.com/xorbitsai/xllamacpp
    .. [3] Qwen2.5-Coder-1.5B-Instruct (Apache-2.0), https://huggingface.co/Qwen/Qwen2.5-Coder-1.5B-Instruct

    Examples
    --------
    >>> url = serve_gguf("qwen2.5-coder-1.5b-instruct-q4_k_m.gguf")  # doctest: +SKIP
    >>> url  # doctest: +SKIP
    'http://127.0.0.1:40237/v1'
    """
    model = Path(path).expanduser()
    if not model.is_file():
        raise InputError(f"the GGUF file {str(model)!r} does not exist", field="model",
                         fix="give the path of a .gguf file: --model local-gguf:/path/to/model.gguf.")
    model = model.resolve()
    template = _resolve_template(chat_template, _gguf_chat_template(model))
    key = (str(model), template, int(context_tokens))
    with _LOCK:
        running = _SERVERS.get(key)
        if running is not None:
            return running.base_url
        xlc = _import_xllamacpp()
        n_threads = threads or (len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1)
        params = xlc.CommonParams()
        params.model.path = str(model)
        params.n_ctx = int(context_tokens)
        params.hostnames = ["127.0.0.1"]
        params.port = 0  # llama.cpp binds a free port
        params.ui = False
        params.verbosity = 3 if verbose else 1  # llama.cpp logs to stderr
        params.use_jinja = True
        if template is not None:
            params.chat_template = template
        params.cpuparams.n_threads = params.cpuparams_batch.n_threads = n_threads
        params.sampling.temp = float(temperature)
        params.n_predict = int(max_tokens)
        try:
            server = xlc.Server(params)  # returns once the model is loaded and the server listens
        except Exception as exc:  # llama.cpp reports a model or template it cannot use as RuntimeError
            raise GridSageError(f"llama.cpp could not load {model.name}: {exc}", field="model",
                                fix="check the file is a complete GGUF model (its sha256) and the chat template "
                                    f"is valid Jinja (${TEMPLATE_ENV}).") from exc
        base = server.listening_address.rstrip("/")
        _wait_healthy(base, wait_s)
        _SERVERS[key] = running = _Running(server, base + "/v1")
        return running.base_url


def stop_servers() -> None:
    """Stop every model server :func:`serve_gguf` started, and free their memory."""
    with _LOCK:
        _SERVERS.clear()  # dropping the last reference to an xllamacpp.Server stops it


def _import_xllamacpp():
    # OpenMP threads that spin while they wait starve llama.cpp's own threads on a small or busy machine
    # (measured on 2 cores shared with other work: 3-4 tokens/s spinning, 10-19 tokens/s passive); libgomp reads
    # this when it loads, so it must be set before the first import
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    try:
        import xllamacpp
    except ImportError as exc:
        raise InputError("local GGUF models need the optional package xllamacpp, which is not installed",
                         field="model", fix="pip install 'gridsage[local]', or choose another --model.") from exc
    return xllamacpp


def _resolve_template(chat_template: str | None, own_template: str | None) -> str | None:
    """The chat template to serve with: ``None`` keeps the GGUF's own."""
    value = chat_template if chat_template is not None else os.environ.get(TEMPLATE_ENV, "").strip() or None
    if value is None:
        return FENCED_JSON_TEMPLATE if own_template and "<|im_start|>" in own_template else None
    if value.strip().lower() == "model":
        return None
    if "{{" in value or "{%" in value:
        return value
    file = Path(value).expanduser()
    if not file.is_file():
        raise InputError(f"chat template {value!r} is neither a Jinja template nor an existing file",
                         field=TEMPLATE_ENV, fix="give a template file's path, the template text, or 'model'.")
    try:
        return file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read chat template file {str(file)!r}: {exc}", field=TEMPLATE_ENV,
                         fix="give a readable UTF-8 Jinja template file.") from exc


def _wait_healthy(base: str, wait_s: float) -> None:
    """Poll ``GET /health`` until it answers 200, for at most ``wait_s`` seconds."""
    deadline = time.monotonic() + wait_s
    last = "no answer"
    while True:
        try:
            with urllib.request.urlopen(f"{base}/health", timeout=5) as reply:
                if reply.status == 200:
                    return
                last = f"HTTP {reply.status}"
        except (urllib.error.URLError, OSError) as exc:  # 503 while loading, refused before listening
            last = str(exc)
        if time.monotonic() >= deadline:
            raise GridSageError(f"the local model server at {base} did not become ready within {wait_s:g} s ({last})",
                                field="model", fix="check the machine's free memory, or use a smaller GGUF model.")
        time.sleep(0.2)


@functools.lru_cache(maxsize=8)
def _gguf_chat_template(path: Path) -> str | None:
    """The ``tokenizer.chat_template`` stored in a GGUF file's header, or ``None``.

    Read with llama.cpp's own ``gguf`` package (memory-mapped, but it indexes every tensor: seconds for a
    1 GB model, so the result is cached per path).

    Raises
    ------
    InputError
        If the file is not a GGUF file.

    References
    ----------
    .. [1] GGUF file format, ggml-org/ggml docs/gguf.md.
    """
    try:
        from gguf import GGUFReader
    except ImportError:
        raise InputError("reading GGUF models needs the optional package gguf, which is not installed", field="model",
                         fix="pip install 'gridsage[local]', or choose another --model.") from None
    try:
        field = GGUFReader(path).get_field("tokenizer.chat_template")
    except (ValueError, OSError, IndexError, KeyError) as exc:  # a truncated header fails as IndexError
        raise InputError(f"{path.name} is not a GGUF model file ({exc})", field="model",
                         fix="point local-gguf: at a .gguf model file (llama.cpp format).") from None
    return field.contents() if field is not None else None
