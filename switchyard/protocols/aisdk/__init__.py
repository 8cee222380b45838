"""The Vercel AI SDK gateway protocol: what ``@ai-sdk/gateway`` (``createGateway({ baseURL })``) speaks.

The protocol is a thin RPC of the AI SDK provider spec: the request body is the spec's call options,
the answer its generate result (JSON) or stream parts (SSE). Three spec versions are served, one per
AI SDK major: v2 (ai 5, ``/v1/ai``), v3 (ai 6, ``/v3/ai``) and v4 (ai 7, ``/v4/ai``). See
``/work/shared/specs/aisdk-gateway-protocol.md`` for the wire facts. No provider speaks this protocol,
so every request is translated through the canonical model.
"""

from switchyard.protocols.aisdk.frontdoor import AISDKEmbeddingFrontDoor, AISDKFrontDoor

__all__ = ["AISDKEmbeddingFrontDoor", "AISDKFrontDoor"]
