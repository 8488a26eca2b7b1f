"""Helpers of the prompt registry's tests: prompt contents and pushes."""

from __future__ import annotations

import uuid

from llmops.v1 import common_pb2
from llmops.v1 import prompt_registry_pb2 as pb


def unique_name(folder: str = "test") -> str:
    return f"{folder}/{uuid.uuid4().hex[:10]}"


def chat(system: str = "Answer from the context.", user: str = "{{context}}\n\nQ: {{question}}"):
    return pb.PromptContent(
        type=pb.PROMPT_TYPE_CHAT,
        messages=[
            common_pb2.ChatMessage(role="system", content=system),
            common_pb2.ChatMessage(role="user", content=user),
        ],
        variables=["context", "question"],
        model_config=pb.ModelConfig(
            model="smollm2-135m", sampling=common_pb2.SamplingParams(max_tokens=64, temperature=0.2)
        ),
    )


def text(template: str, *variables: str) -> pb.PromptContent:
    return pb.PromptContent(type=pb.PROMPT_TYPE_TEXT, template=template, variables=variables)


async def push(client, name: str, content=None, **fields) -> pb.PromptVersion:
    response = await client.rpc.CreatePromptVersion(
        pb.CreatePromptVersionRequest(name=name, content=content or chat(), **fields)
    )
    return response.version


async def prompt_with_versions(client, count: int, folder: str = "test") -> str:
    """A new prompt with versions 1..count (text templates "v1", "v2", ...)."""
    name = unique_name(folder)
    for number in range(1, count + 1):
        await push(client, name, text(f"v{number}"))
    return name
