"""The shared core: what every notebook and every lesson module may use."""
