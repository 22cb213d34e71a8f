"""jaxrnn private internals: nothing here is public API."""
