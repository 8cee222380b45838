"""Azure OpenAI: OpenAI's protocol behind deployments, api-versions and Entra ID."""

from switchyard.protocols.azure.adapter import AzureOpenAIAdapter

ADAPTERS = (AzureOpenAIAdapter,)

__all__ = ["ADAPTERS", "AzureOpenAIAdapter"]
