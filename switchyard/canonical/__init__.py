"""The canonical model in the middle: requests, results and stream events. Nothing else lives here."""

from switchyard.canonical.embeddings import EmbedRequest, EmbedResult
from switchyard.canonical.events import (
    Finish,
    ReasoningDelta,
    ResponseInfo,
    StreamEvent,
    TextDelta,
    ToolCallDelta,
    ToolCallStart,
    UsageReport,
)
from switchyard.canonical.request import (
    ChatRequest,
    ImagePart,
    Message,
    Part,
    ReasoningPart,
    ResponseFormat,
    TextPart,
    Tool,
    ToolCallPart,
    ToolChoice,
    ToolResultPart,
)
from switchyard.canonical.result import ChatResult, FinishReason, Usage

__all__ = [
    "ChatRequest", "ChatResult", "EmbedRequest", "EmbedResult", "Finish", "FinishReason", "ImagePart", "Message", "Part",
    "ReasoningDelta", "ReasoningPart", "ResponseFormat", "ResponseInfo", "StreamEvent", "TextDelta",
    "TextPart", "Tool", "ToolCallDelta", "ToolCallPart", "ToolCallStart", "ToolChoice",
    "ToolResultPart", "Usage", "UsageReport",
]
