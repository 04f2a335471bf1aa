# Top-down heatmaps, UniFormer-S, COCO 256x192: 74.0 AP (exp/top_down_256x192_global_small).
_base_ = './_base_/topdown_uniformer_coco.py'
