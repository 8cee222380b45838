"""The upstream HTTP client."""
