"""See :mod:`dlscope.measure` for the map of the families."""
