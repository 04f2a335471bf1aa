"""Packaging for uniformer_mm, the UniFormer plugin for the OpenMMLab 2.0 toolboxes."""
import os.path as osp

from setuptools import find_packages, setup


def read_version() -> str:
    """Read ``__version__`` from ``uniformer_mm/version.py`` without importing the package."""
    namespace: dict = {}
    with open(osp.join(osp.dirname(__file__), 'uniformer_mm', 'version.py')) as f:
        exec(f.read(), namespace)
    return namespace['__version__']


# What the plugin itself imports; each toolbox is optional and comes with an extra.
# The tested versions are pinned in requirements/constraints.txt.
install_requires = ['torch>=2.1', 'numpy', 'mmengine>=0.10.6,<1.0', 'mmcv>=2.0.0,<2.2.0']
extras_require = {
    'cls': ['mmpretrain>=1.2.0'],
    'det': ['mmdet>=3.3.0'],
    'seg': ['mmsegmentation>=1.2.2', 'ftfy', 'regex'],
    # mmpose: install with --no-deps (its chumpy requirement does not build); albumentations
    # (RTMPose's augmentation): --no-deps too, see tools/env/install.sh
    'pose': ['mmpose>=1.3.2', 'albumentations>=1.4,<2'],
    'video': ['mmaction2>=1.2.0', 'decord', 'pytorchvideo'],  # decoding, RandAugment
    # tools/deployment/export.py: torch.onnx's exporter needs onnx + onnxscript
    'deploy': ['onnx>=1.17', 'onnxscript>=0.2', 'onnxruntime>=1.20'],
    'tests': ['pytest', 'pytest-timeout', 'pytest-xdist'],
}
extras_require['all'] = sorted({r for k, v in extras_require.items() if k != 'tests' for r in v})

setup(
    name='uniformer_mm',
    version=read_version(),
    description='UniFormer (ICLR 2022 / TPAMI 2023) for every OpenMMLab 2.0 toolbox',
    long_description=open('README.md').read() if osp.exists('README.md') else '',
    long_description_content_type='text/markdown',
    python_requires='>=3.9',
    packages=find_packages(include=['uniformer_mm', 'uniformer_mm.*']),
    # the class orders of the video datasets (uniformer_mm.checkpoint.labels reads them)
    package_data={'uniformer_mm': ['data/labels/*.txt', 'data/labels/*.list',
                                   'data/labels/README.md']},
    install_requires=install_requires,
    extras_require=extras_require,
    license='Apache License 2.0',
    zip_safe=False,
)
