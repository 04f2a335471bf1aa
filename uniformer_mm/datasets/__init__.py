"""Data transforms and datasets registered in uniformer_mm's registries."""
