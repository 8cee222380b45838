"""Wire protocols. Each package translates one protocol to and from the canonical model, on the provider side (adapter) and, where clients speak it, on the caller side (front door)."""
