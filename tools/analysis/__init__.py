"""Analysis tools: FLOPs (``get_flops.py``), the benchmark package (``benchmark/``) and the
comparison with mmaction2's UniFormer (``compare_mmaction_uniformer.py``)."""
