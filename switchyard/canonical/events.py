"""Canonical stream events: what a provider's stream decoder yields and a front door's stream encoder
consumes.

The sequence is: any number of deltas, then at most one ``Finish`` and one ``UsageReport`` (in either
order; some providers send usage after the finish reason, some with it). Block boundaries are not
events: an encoder that needs them (Anthropic ``content_block_*``, AI SDK ``text-start``) opens a
block on the first delta of a new kind or index and closes it when the kind or index changes.
"""

from __future__ import annotations

from typing import Union

import msgspec

from switchyard.canonical.result import FinishReason, Usage


class TextDelta(msgspec.Struct, tag="text"):
    text: str


class ReasoningDelta(msgspec.Struct, tag="reasoning"):
    text: str = ""
    signature: str | None = None  # Anthropic signature_delta
    redacted: str | None = None  # Anthropic redacted_thinking block data


class ToolCallStart(msgspec.Struct, tag="tool_start"):
    index: int  # position among this response's tool calls, from 0
    id: str
    name: str


class ToolCallDelta(msgspec.Struct, tag="tool_delta"):
    index: int
    arguments: str  # a fragment of the JSON arguments text


class Finish(msgspec.Struct, tag="finish"):
    reason: FinishReason
    raw: str | None = None


class UsageReport(msgspec.Struct, tag="usage"):
    usage: Usage


class ResponseInfo(msgspec.Struct, tag="info"):
    """The provider's own id and model id for the response, when its stream announces them."""

    id: str | None = None
    model: str | None = None


StreamEvent = Union[TextDelta, ReasoningDelta, ToolCallStart, ToolCallDelta, Finish, UsageReport, ResponseInfo]
