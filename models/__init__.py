"""metrotwin's built-in models: flood, heat and mobility (each registered as an entry point)."""
