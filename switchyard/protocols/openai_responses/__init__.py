"""The OpenAI Responses API (``POST /v1/responses``), caller side only: requests are translated to
the canonical model and served by any provider, whatever protocol it speaks.

    request_in    validate the body, routing facts, canonical request (uses items_in, tools_in)
    items_in      instructions + input items -> canonical messages
    tools_in      tools / tool_choice -> canonical tools, and the name map back
    response_out  ChatResult -> Response object (and the pieces the stream shares)
    stream_out    canonical stream events -> Responses event stream
    errors_out    errors: OpenAI's error object, and the stream's error event
    frontdoor     the FrontDoor, and bare OpenAI model names -> catalog ids
    routes        the endpoint
"""

from switchyard.protocols.openai_responses.frontdoor import OpenAIResponsesFrontDoor

__all__ = ["OpenAIResponsesFrontDoor"]
