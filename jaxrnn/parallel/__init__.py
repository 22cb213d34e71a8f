"""Recurrences evaluated in parallel over time (public names are re-exported by ``jaxrnn``)."""
