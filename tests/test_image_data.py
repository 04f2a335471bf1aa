"""The paper's image training data paths (classification, detection, segmentation, pose), end
to end on CPU.

The config step tests (tests/test_configs.py) feed hand-made tensors to the models and
test_pipelines_build only builds the transforms; here every distinct train pipeline of
configs/{cls,det,seg,pose} runs on real files in the real formats (the generated demo data:
ImageNet-style folders, COCO instances and keypoints, ADE20K label maps; for token labeling,
dense label files), through the config's dataset class, the default collate function and the
model's data preprocessor (batch augmentations included). The batch must have the input size
the config trains at. Tests of the video data paths: tests/test_video_data.py.
"""
import copy
import json
from pathlib import Path
from typing import List, Optional, Tuple

import pytest
import torch

from mmengine.config import Config, ConfigDict
from mmengine.registry import DefaultScope

import uniformer_mm  # noqa: F401  (registers the uniformer_mm.* types)
from conftest import make_demo_data
from test_configs import model_config  # the model config as mmengine's Runner sees it

REPO = Path(__file__).parents[1]
TASKS = {'cls': 'mmpretrain', 'det': 'mmdet', 'seg': 'mmseg', 'pose': 'mmpose'}


@pytest.fixture(scope='module')
def demo(tmp_path_factory) -> Path:
    """The demo data sets, plus a (2, 5, 14, 14) dense label file per classification image."""
    root = make_demo_data(tmp_path_factory.mktemp('image_data'), ('cls', 'coco', 'ade'))
    g = torch.Generator().manual_seed(0)
    for img in (root / 'cls' / 'train').glob('*/*.png'):
        label = root / 'token_labels' / img.parent.name / f'{img.stem}.pt'
        label.parent.mkdir(parents=True, exist_ok=True)
        scores = torch.rand(5, 14, 14, generator=g).softmax(0)
        torch.save(torch.stack([scores, torch.randint(0, 1000, (5, 14, 14), generator=g)
                                .float()]), label)
    return root


def _setups() -> List[Tuple[str, str]]:
    """(task, config name): one per distinct train dataset + pipeline + preprocessor."""
    out = []
    for task in TASKS:
        seen = set()
        for path in sorted((REPO / 'configs' / task).glob('*.py')):
            cfg = Config.fromfile(str(path))
            model = model_config(cfg)
            key = json.dumps([cfg.train_dataloader.dataset.to_dict(),
                              model.get('data_preprocessor'), model.get('train_cfg')],
                             sort_keys=True, default=str)
            if key not in seen:
                seen.add(key)
                out.append((task, path.stem))
    return out


def _point_at_demo_data(task: str, dataset: ConfigDict, root: Path) -> None:
    """Replace the paths (and, where the format needs it, the class list) by the demo's."""
    if task == 'cls':
        # ImageNet checks its 1000 classes; the same folder layout read as CustomDataset.
        for key in ('split', 'ann_file'):
            dataset.pop(key, None)
        dataset.update(type='CustomDataset', data_root=str(root / 'cls'), data_prefix='train')
        for t in dataset.pipeline:
            if t['type'].endswith('LoadTokenLabel'):
                t['label_root'] = str(root / 'token_labels')
    elif task == 'det':
        ann = root / 'coco' / 'annotations' / 'instances_train.json'
        classes = tuple(c['name'] for c in json.loads(ann.read_text())['categories'])
        dataset.update(data_root=str(root / 'coco'), ann_file=str(ann),
                       data_prefix=dict(img='train/'), metainfo=dict(classes=classes))
    elif task == 'seg':
        dataset.update(data_root=str(root / 'ade'),
                       data_prefix=dict(img_path='images/training',
                                        seg_map_path='annotations/training'))
    else:
        dataset.update(data_root=str(root / 'coco'),
                       ann_file='annotations/person_keypoints_train.json',
                       data_prefix=dict(img='train/'))


def _expected_size(task: str, cfg: Config, pipeline: list) -> Optional[Tuple[int, int]]:
    """(height, width) the config trains at (det: None, the batch is padded per batch)."""
    if task == 'cls':
        scale = next(t['scale'] for t in pipeline if t['type'].endswith('RandomResizedCrop'))
        return (scale, scale) if isinstance(scale, int) else tuple(scale)
    if task == 'seg':
        return tuple(model_config(cfg).data_preprocessor['size'])
    if task == 'pose':
        w, h = cfg.codec['input_size']
        return h, w
    return None


@pytest.mark.parametrize('task,name', _setups())
def test_train_data_path_runs(task: str, name: str, demo: Path) -> None:
    scope = TASKS[task]
    pytest.importorskip(scope)
    from mmengine.dataset import pseudo_collate
    from mmengine.registry import DATASETS, MODELS

    cfg = Config.fromfile(str(REPO / 'configs' / task / f'{name}.py'))
    dataset_cfg = copy.deepcopy(cfg.train_dataloader.dataset)
    _point_at_demo_data(task, dataset_cfg, demo)
    model = model_config(cfg)
    pre = copy.deepcopy(model.data_preprocessor)
    if task == 'cls':
        pre.setdefault('type', 'ClsDataPreprocessor')
        if model.get('train_cfg', {}).get('augments'):  # what ImageClassifier passes on
            pre['batch_augments'] = copy.deepcopy(model.train_cfg)
    torch.manual_seed(0)
    with DefaultScope.overwrite_default_scope(scope):
        dataset = DATASETS.build(dataset_cfg)
        preprocessor = MODELS.build(pre)
    assert len(dataset) >= 2
    batch = preprocessor(pseudo_collate([dataset[0], dataset[1]]), training=True)
    inputs, samples = batch['inputs'], batch['data_samples']
    assert inputs.dim() == 4 and inputs.shape[:2] == (2, 3) and len(samples) == 2
    assert torch.isfinite(inputs).all()
    size = _expected_size(task, cfg, dataset_cfg.pipeline)
    if size is not None:
        assert tuple(inputs.shape[2:]) == tuple(size), (inputs.shape, size)
    else:  # detection: the paper's scales (short side 480-800, long side up to 1333), padded
        divisor = pre.get('pad_size_divisor', 1)
        assert inputs.shape[2] % divisor == 0 and inputs.shape[3] % divisor == 0
        assert 480 <= min(inputs.shape[2:]) and max(inputs.shape[2:]) <= 1344, inputs.shape
        assert all(len(s.gt_instances) > 0 for s in samples)
    if any(t['type'].endswith('TokenLabelTarget') for t in dataset_cfg.pipeline):
        assert samples[0].token_label.shape[0] == 1000
