"""Class orders of video checkpoints: the shipped label files and the row permutation.

The facts asserted here are those docs/labels.md states: which official orders differ from
mmaction2's, and that a classifier whose row ``i`` encodes class ``i`` of the source order
ends with every class on its destination row.
"""
from collections import OrderedDict

import pytest
import torch

from uniformer_mm.checkpoint.labels import (DATASET_LABEL_ORDERS, LABEL_DIR, LABEL_ORDERS,
                                            UNUSED_ROW_PREFIX, LabelOrderError,
                                            label_permutation, normalize_label,
                                            permute_classifier, read_labels, reorder_classes)

SIZES = dict(k400=400, k600=600, sthv1=174, sthv2=174, ucf101=101, hmdb51=51, imagenet1k=1000)


def test_every_shipped_order_reads_with_its_size():
    for name, (files, rows) in LABEL_ORDERS.items():
        assert all((LABEL_DIR / f).is_file() for f in files), name
        names = read_labels(name)
        dataset = name.split('_', 1)[-1]
        assert len(names) == (rows or SIZES[dataset]), name
        if dataset != 'imagenet1k':  # ImageNet names 'crane' twice (the bird, the machine)
            assert len({normalize_label(n) for n in names}) == len(names), name


def test_official_kinetics_rows_are_the_listed_indices():
    k400 = read_labels('official_k400')
    assert k400[:3] == ['riding a bike', 'marching', 'dodgeball']
    # the K600 rows are the numbers of the two lists together (data_list/k600/test.csv labels
    # feeding_fish 0, poking_bellybutton 1, sword_swallowing 2, ...)
    k600 = read_labels('official_k600')
    assert k600[:3] == ['feeding_fish', 'poking_bellybutton', 'sword_swallowing']


@pytest.mark.parametrize('dataset,same', [('k400', False), ('k600', False), ('sthv1', False),
                                          ('sthv2', False), ('ucf101', True),
                                          ('hmdb51', True)])
def test_official_vs_mmaction2_order(dataset, same):
    official, mm = DATASET_LABEL_ORDERS[dataset]
    perm = label_permutation(official, mm)
    assert sorted(perm) == list(range(SIZES[dataset]))
    assert (perm == list(range(SIZES[dataset]))) == same


def test_normalize_label_spellings():
    assert normalize_label("massaging_person's_head") == normalize_label(
        "massaging person's head") == 'massaging persons head'
    assert normalize_label('Putting [something] on a surface') == 'putting something on a surface'
    assert normalize_label('petting animal (not cat)') == 'petting animal not cat'


def _official_head(names, dim=3, light=False):
    """An official-layout state_dict whose row i encodes class i (bias = i, weight = i)."""
    n = len(names)
    rows = torch.arange(n, dtype=torch.float32)
    sd = OrderedDict([('blocks1.0.norm1.weight', torch.ones(dim)),
                      ('head.weight', rows[:, None].repeat(1, dim)), ('head.bias', rows.clone())])
    if light:
        sd['head_cls.weight'] = rows[:, None].repeat(1, dim) + 1000
        sd['head_cls.bias'] = rows + 1000
        sd['norm_cls.weight'] = torch.ones(dim)
    return sd


@pytest.mark.parametrize('dataset', ['k400', 'k600', 'sthv1', 'sthv2'])
def test_each_class_lands_on_its_destination_row(dataset):
    official, mm = DATASET_LABEL_ORDERS[dataset]
    src, dst = read_labels(official), read_labels(mm)
    sd = _official_head(src, light=True)
    out = permute_classifier(sd, official, mm)
    src_row = {normalize_label(n): i for i, n in enumerate(src)}
    want = torch.tensor([src_row[normalize_label(n)] for n in dst], dtype=torch.float32)
    assert torch.equal(out['head.bias'], want)
    assert torch.equal(out['head.weight'][:, 0], want)
    assert torch.equal(out['head_cls.bias'], want + 1000)
    # everything else untouched, and the input not modified
    assert torch.equal(out['norm_cls.weight'], sd['norm_cls.weight'])
    assert torch.equal(sd['head.bias'], torch.arange(len(src), dtype=torch.float32))
    # and back
    back = permute_classifier(out, mm, official)
    assert torch.equal(back['head.bias'], sd['head.bias'])


def test_mmaction2_layout_and_named_rows():
    sd = {'backbone.x': torch.zeros(1), 'cls_head.fc_cls.weight': torch.eye(3),
          'cls_head.fc_cls.bias': torch.tensor([0., 1., 2.])}
    out = permute_classifier(sd, ['a', 'b', 'c'], ['c', 'a', 'b'])
    assert out['cls_head.fc_cls.bias'].tolist() == [2., 0., 1.]
    assert torch.equal(out['cls_head.fc_cls.weight'], torch.eye(3)[[2, 0, 1]])
    assert torch.equal(out['backbone.x'], sd['backbone.x'])


def test_label_files(tmp_path):
    plain = tmp_path / 'map.txt'
    plain.write_text('Cat\ndog\n\nbird\n')
    indexed = tmp_path / 'cats.txt'
    indexed.write_text('dog\t2\nbird 0\ncat\t1\n')
    assert read_labels(str(plain)) == ['Cat', 'dog', 'bird']
    assert read_labels(str(indexed)) == ['bird', 'cat', 'dog']
    assert label_permutation(str(plain), str(indexed)) == [2, 0, 1]
    with pytest.raises(FileNotFoundError, match='neither a label file nor a known order'):
        read_labels(str(tmp_path / 'nope.txt'))


def test_clear_errors():
    sd = {'head.weight': torch.zeros(3, 2), 'head.bias': torch.zeros(3)}
    with pytest.raises(LabelOrderError, match=r"missing in the source: \['d'\]") as e:
        permute_classifier(sd, ['a', 'b', 'c'], ['a', 'b', 'd'])
    assert "missing in the destination: ['c']" in str(e.value)
    with pytest.raises(LabelOrderError, match='twice'):
        label_permutation(['a', 'A', 'b'], ['a', 'b'])
    with pytest.raises(LabelOrderError, match='do not match the source order'):
        permute_classifier(sd, ['a', 'b'], ['b', 'a'])
    with pytest.raises(LabelOrderError, match='no classifier'):
        permute_classifier({'backbone.x': torch.zeros(2)}, ['a', 'b'], ['b', 'a'])


def test_official_hmdb51_drops_its_never_trained_rows():
    names = read_labels('official_hmdb51')
    assert len(names) == 101 and names[51].startswith(UNUSED_ROW_PREFIX)
    out = permute_classifier(_official_head(names), 'official_hmdb51', 'mmaction2_hmdb51')
    assert out['head.bias'].tolist() == list(range(51))


def _mm_head(names):
    n = len(names)
    return {'backbone.x': torch.zeros(1), 'cls_head.fc_cls.weight': torch.zeros(n, 2),
            'cls_head.fc_cls.bias': torch.arange(n, dtype=torch.float32)}


def test_reorder_classes_official_files_go_to_the_destination_order():
    src = read_labels('official_k400')
    out, order, msg = reorder_classes(_official_head(src), official=True, dst='mmaction2_k400')
    assert order == 'mmaction2_k400' and 'reordered' in msg
    # 'abseiling', row 0 of mmaction2's map, comes from its official row
    assert out['head.bias'][0] == src.index('abseiling')
    # the count names Kinetics-600 even for a destination given as a file
    k600 = _official_head(read_labels('official_k600'))
    path = str(LABEL_DIR / 'mmaction2_k600.txt')
    out, order, _ = reorder_classes(k600, official=True, dst=path)
    assert order == path and out['head.bias'][0] == read_labels('official_k600').index(
        'abseiling')


def test_reorder_classes_never_reorders_mmaction2_files_twice():
    names = read_labels('mmaction2_k400')
    sd = _mm_head(names)
    out, order, msg = reorder_classes(sd, official=False, dst='mmaction2_k400')
    assert torch.equal(out['cls_head.fc_cls.bias'], sd['cls_head.fc_cls.bias'])
    assert order == 'mmaction2_k400' and 'taken to be in the destination order' in msg
    # ... unless the file records another order
    out, order, _ = reorder_classes(sd, official=False, meta={'label_order': 'mmaction2_k400'},
                                    dst='official_k400')
    assert order == 'official_k400'
    assert out['cls_head.fc_cls.bias'][0] == names.index('riding a bike')


def test_reorder_classes_explicit_orders_and_edge_cases():
    sd = _official_head(['a', 'b', 'c'])
    out, order, _ = reorder_classes(sd, official=True, src=['a', 'b', 'c'], dst=['c', 'b', 'a'])
    assert out['head.bias'].tolist() == [2., 1., 0.] and order == 'a list of class names'
    out, _, msg = reorder_classes(sd, official=True, src='none', dst=['c', 'b', 'a'])
    assert out['head.bias'].tolist() == [0., 1., 2.] and 'kept as they are' in msg
    with pytest.raises(LabelOrderError, match='3 rows but the source order'):
        reorder_classes(sd, official=True, src=['a', 'b'], dst=['b', 'a'])
    # 3 official classes: no dataset of that size; a destination needs an explicit source
    with pytest.raises(LabelOrderError, match='give that order'):
        reorder_classes(sd, official=True, dst=['c', 'b', 'a'])
    # a Kinetics classifier converted for a Something-Something config: left alone
    k400 = _official_head(read_labels('official_k400'))
    out, _, msg = reorder_classes(k400, official=True, dst='mmaction2_sthv2')
    assert torch.equal(out['head.bias'], k400['head.bias']) and 'another label set' in msg
    # no classifier: nothing to do
    assert reorder_classes({'blocks1.0.x': torch.zeros(1)}, official=True,
                           dst='mmaction2_k400')[1:] == (None, '')
