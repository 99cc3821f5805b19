"""Each notebook's own experiments and figures, one module per notebook."""
