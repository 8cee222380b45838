"""Amazon Bedrock runtime protocol, provider side: Converse and ConverseStream (AWS event stream) for
chat, InvokeModel for Titan and Cohere embeddings, SigV4 signing. No AWS SDK involved."""

from switchyard.protocols.bedrock.adapter import BedrockAdapter

ADAPTERS = (BedrockAdapter,)

__all__ = ["ADAPTERS", "BedrockAdapter"]
