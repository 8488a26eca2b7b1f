"""Chat messages into the raw prompt a model was trained on.

TensorRT-LLM's ensemble takes raw text, so the template is applied here, once, for
every backend. Each template also names the stop sequence that ends a turn.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from llmops_core.errors import InvalidArgumentError


@dataclass(frozen=True)
class ChatTemplate:
    name: str
    turn: str  # format of one message, with {role} and {content}
    generation_prompt: str  # what opens the assistant's reply
    stop: tuple[str, ...]

    def render(self, messages: Sequence[tuple[str, str]]) -> str:
        return (
            "".join(self.turn.format(role=r, content=c) for r, c in messages)
            + self.generation_prompt
        )


TEMPLATES = {
    "chatml": ChatTemplate(
        "chatml",
        "<|im_start|>{role}\n{content}<|im_end|>\n",
        "<|im_start|>assistant\n",
        ("<|im_end|>",),
    ),
    "llama3": ChatTemplate(
        "llama3",
        "<|start_header_id|>{role}<|end_header_id|>\n\n{content}<|eot_id|>",
        "<|start_header_id|>assistant<|end_header_id|>\n\n",
        ("<|eot_id|>",),
    ),
}


def template(name: str) -> ChatTemplate:
    try:
        return TEMPLATES[name]
    except KeyError:
        raise InvalidArgumentError(
            f"chat template '{name}' is unknown; known: {', '.join(sorted(TEMPLATES))}"
        ) from None
