"""The reliability harness: the machinery behind ``tests/test_reliability.py`` and the report.

* :mod:`.cases`: every bad, odd and unsafe input as data (:class:`~.cases.Case`) with the
  outcome it must have, and :func:`~.cases.run_case`;
* :mod:`.kill_resume`: SIGKILL a real training run, resume it, compare with a full run;
* :mod:`.kill_point`: hooks that park or signal a run at a chosen iteration (imported by the
  training processes of those scenarios through ``custom_imports``);
* :mod:`.determinism`: same seed, same losses;
* :mod:`.scan_loads`: every deserialising call of the package and the tools, judged.

The tests import it as ``reliability`` (pytest puts ``tests/`` on ``sys.path``, as for
``conftest``); ``tools/reliability/report.py`` runs all of it and writes
``docs/reliability.md``. Each module with a ``main`` also runs alone, e.g.
``cd tests && python -m reliability.kill_resume --toolboxes cls``.
"""
