"""Training helpers registered in uniformer_mm's engine registries (optimizer constructors, hooks)."""
