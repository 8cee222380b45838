"""Azure OpenAI errors: OpenAI's error object plus Azure's content filter.

A prompt the content filter blocks is a 400 ``{"error": {"code": "content_filter", "param": "prompt",
"status": 400, "innererror": {"code": "ResponsibleAIPolicyViolation", "content_filter_result": {"hate":
{"filtered": true, "severity": "high"}, ...}}}}``
(https://learn.microsoft.com/azure/ai-services/openai/concepts/content-filter). The categories that
fired are named in the message. 429s carry ``retry-after-ms`` and ``retry-after``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from switchyard.errors import ErrorCategory, UpstreamError
from switchyard.protocols.openai_chat import errors as openai_errors


def filtered_categories(result: Any) -> list[str]:
    """The categories of a ``content_filter_result(s)`` object that were filtered."""
    if not isinstance(result, dict):
        return []
    return [name for name, r in result.items() if isinstance(r, dict) and r.get("filtered")]


def parse_error(slug: str, status: int, headers: Mapping[str, str], body: bytes) -> UpstreamError:
    err = openai_errors.parse_error(slug, status, headers, body)
    detail = err.body.get("error") if isinstance(err.body, dict) else None
    inner = detail.get("innererror") if isinstance(detail, dict) else None
    if isinstance(inner, dict) and (inner.get("code") == "ResponsibleAIPolicyViolation"
                                    or "content_filter_result" in inner):
        categories = filtered_categories(inner.get("content_filter_result"))
        message = err.message + (f" (filtered: {', '.join(categories)})" if categories else "")
        return UpstreamError(ErrorCategory.CONTENT_FILTERED, message, status=status, param=err.param,
                             code=err.code or "content_filter", retry_after=err.retry_after, body=err.body)
    return err
