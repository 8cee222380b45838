"""HTTP endpoints of the core packages (accounts admin, usage reports). The core packages themselves
never import the HTTP layer; these modules translate between it and them."""
