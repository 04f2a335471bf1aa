"""Model names: one per row of the metafiles (``configs/<task>/metafile.yml``), the config's
file stem, e.g. ``uniformer_s_in1k`` or ``uniformer_s_16x4_k400``."""
import difflib
import functools
import glob
import os
import os.path as osp
from typing import Any, Dict, List, Optional, Tuple

__all__ = ['CONFIG_ROOT', 'list_models', 'resolve_config', 'official_weights',
           'official_file_hint', 'register_mmpretrain_models', 'register_inferencer_names']

#: The repository's ``configs/`` (next to the package in a clone / editable install).
CONFIG_ROOT = osp.join(osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__)))), 'configs')


@functools.lru_cache(maxsize=1)
def _rows() -> Tuple[Dict[str, Any], ...]:
    """Every row of every ``configs/*/metafile.yml`` (read once per process: the metafiles
    belong to the installed repository)."""
    import yaml
    root = osp.normpath(CONFIG_ROOT)
    metafiles = sorted(glob.glob(osp.join(root, '*', 'metafile.yml')))
    if not metafiles:
        raise FileNotFoundError(
            f'no model metafiles under {root!r}: model names need the repository\'s configs/ '
            '(install uniformer_mm from a clone with `pip install -e .`), or pass a config '
            'file path instead of a name')
    rows: List[Dict[str, Any]] = []
    for path in metafiles:
        with open(path, encoding='utf-8') as f:
            rows += yaml.safe_load(f).get('Models') or []
    return tuple(rows)


def _zoo() -> Dict[str, str]:
    """Model name -> config path (config paths in the metafiles are relative to the
    repository root)."""
    repo = osp.dirname(osp.normpath(CONFIG_ROOT))
    return {row['Name']: osp.join(repo, row['Config']) for row in _rows()}


def list_models() -> List[str]:
    """The names :func:`~uniformer_mm.apis.init_model` accepts, sorted.

    Returns:
        list[str]: One name per metafile row (its config's file stem).
    """
    return sorted(_zoo())


def resolve_config(config_or_name: str) -> str:
    """A config file path, given one or a model name of :func:`list_models`.

    Raises:
        ValueError: Not a path and not a known name (the closest names are suggested).
    """
    if osp.isfile(config_or_name) or config_or_name.endswith('.py') or os.sep in config_or_name:
        return config_or_name  # a path: a missing file is load_config's error to report
    zoo = _zoo()
    if config_or_name in zoo:
        return zoo[config_or_name]
    close = difflib.get_close_matches(config_or_name, list(zoo), n=3)
    hint = f'; did you mean {", ".join(close)}?' if close else ''
    raise ValueError(f'{config_or_name!r} is neither a config file nor a model name{hint} '
                     '(uniformer_mm.apis.list_models() lists the names)')


def official_weights(name: str) -> Optional[Tuple[str, str]]:
    """The official release file of a model name and where to download it.

    Args:
        name (str): A name of :func:`list_models`.

    Returns:
        tuple[str, str] | None: ``(file name, link)``: the row's ``Weights`` (the name the
        configs and mmpretrain's ``pretrained=True`` look for) and its ``Converted From``
        link, the file's own Google Drive page in the official README (open it in a browser:
        Google Drive gives no plain download URL). None when the authors released no file
        for that row (or the name is unknown).
    """
    for row in _rows():
        if row['Name'] == name and row.get('Weights'):
            return row['Weights'], row['Converted From']['Weights']
    return None


def official_file_hint(filename: str) -> str:
    """What to tell a user whose checkpoint ``filename`` is missing, when its file name is
    an official release file of the metafiles; ``''`` otherwise.

    The configs and the metafiles name official files as released (``pretrained/
    uniformer_small_in1k.pth``, ``pretrained=True`` of mmpretrain): the fix is to download
    that file, so the message names its download link and where to save it.

    Args:
        filename (str): The checkpoint path that does not exist.

    Returns:
        str: A sentence to append to the "does not exist" error (starts with ``'; '``).
    """
    base = osp.basename(filename)
    try:
        rows = [row for row in _rows() if row.get('Weights') == base]
    except FileNotFoundError:  # an install without configs/: nothing to look up
        return ''
    if not rows:
        return ''
    link = rows[0]['Converted From']['Weights']
    names = ', '.join(row['Name'] for row in rows)
    return (f'; {base} is the official release file of {names}: download it from {link} '
            f'(Google Drive, open the link in a browser) and save it as {filename!r}')


def register_mmpretrain_models(module: Any = None) -> None:
    """Add the classification rows of our metafile to mmpretrain's model names.

    Then ``mmpretrain.get_model('uniformer_s_in1k')``, ``mmpretrain.list_models('uniformer*')``
    and ``ImageClassificationInferencer('uniformer_s_in1k', pretrained=FILE)`` know them.
    ``import uniformer_mm`` arranges for this to run when mmpretrain's ``apis.model`` is
    imported. Only ``configs/cls``: mmpretrain builds every name it knows as a classifier.
    ``pretrained=True`` reads the row's ``Weights``, the official file name: it must be in
    the working directory (Google Drive gives no plain download URL); when it is missing the
    error names the file's download link (:func:`official_file_hint`).

    Args:
        module: The imported ``mmpretrain.apis.model`` (unused; the import-hook signature).
    """
    from mmpretrain.apis.model import ModelHub
    metafile = osp.join(CONFIG_ROOT, 'cls', 'metafile.yml')
    if not osp.isfile(metafile) or ModelHub.has('uniformer_s_in1k'):
        return  # an install without configs/, or registered already
    ModelHub.register_model_index(metafile, config_prefix=osp.dirname(CONFIG_ROOT))


def register_inferencer_names(module: Any = None) -> None:
    """Let the toolboxes' inferencers take our model names.

    mmengine's ``BaseInferencer`` (``DetInferencer``, ``MMSegInferencer``, mmpose's and
    mmaction2's inferencers) looks a model name up in the toolbox's own installed metafiles
    only. Our names are looked up first: ``DetInferencer('mask_rcnn_uniformer_s',
    weights=FILE)``. A name of another toolbox's task is refused naming the right toolbox.
    The metafiles' weights are official file names, not plain URLs (their download links
    are in :func:`official_weights`): pass ``weights``.
    ``import uniformer_mm`` arranges for this to run when ``mmengine.infer`` is imported.

    Args:
        module: The imported ``mmengine.infer.infer`` (unused; the import-hook signature).
    """
    from mmengine.infer.infer import BaseInferencer
    original = BaseInferencer._load_model_from_metafile
    if getattr(original, '_uniformer_mm', False):
        return

    def load_model_from_metafile(self: Any, model: str) -> Any:
        try:
            path = _zoo().get(model)
        except FileNotFoundError:  # an install without configs/
            path = None
        if path is None:
            return original(self, model)
        from mmengine.config import Config
        cfg = Config.fromfile(path)
        scope = cfg.get('default_scope')
        if self.scope is not None and scope != self.scope:
            raise ValueError(f'{model!r} is an {scope} model (config {path}); '
                             f'{type(self).__name__} runs {self.scope} models')
        return cfg, None

    load_model_from_metafile._uniformer_mm = True  # type: ignore[attr-defined]
    BaseInferencer._load_model_from_metafile = load_model_from_metafile
