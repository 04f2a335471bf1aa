"""Speed and memory of backbones, measured side by side with their peers (CPU).

``python -m tools.analysis.benchmark`` (what ``make benchmark`` runs, from the repository
root) measures; ``tools/analysis/compare_mmaction_uniformer.py`` shares the video pair;
``docs/benchmark.md`` is rendered from the JSON report. One module per concern:

* :mod:`.specs` -- what runs: models, variants, cases, groups;
* :mod:`.models` -- building them (weights that exercise them, explicit-softmax reference,
  the mmaction2 pair);
* :mod:`.timing`, :mod:`.memory`, :mod:`.flops`, :mod:`.profiling` -- the measurements;
* :mod:`.runner` -- a group and a suite into one report; :mod:`.suites` -- what
  ``make benchmark`` runs; :mod:`.targets` -- the targets judged on the numbers;
* :mod:`.report` -- console table, Markdown, chart; :mod:`.cli` -- the command line.

What is measured, and how:

* **Throughput** -- wall time of one forward pass (eval mode, ``torch.no_grad()``) after
  warm-up. The cases of a group run round-robin (A B C, A B C, ...), so load from other
  processes and clock changes hit all of them alike. Each case reports the median, min and max
  over the repeats; ratios between two cases are the median of the per-round ratios
  ("paired"), which cancels slow drifts better than a ratio of medians. Every case runs under
  one allocator setting, by default glibc keeping freed memory
  (:func:`uniformer_mm.deploy.keep_freed_cpu_memory`, as ``tools/test.py`` runs on CPU):
  under glibc's adaptive defaults a model's large activations may be ``mmap``-ed afresh in
  every pass, costing tens of thousands of page faults, in amounts that differ from process to
  process and from model to model (``--malloc default`` measures that).
* **GEMM ceiling** -- for the ratio targets, the float32 rate of this CPU's fastest matrix
  product (oneDNN, pre-packed weight) at the models' dominant layer shape, timed as one more
  case in the group's rounds: a model's FLOPs at that rate bound how fast any implementation
  on these kernels can run (the ceiling is the median over rounds of the probe's rate over
  the compared model's).
* **Torch peak** -- the most memory held at any moment by tensors allocated during one forward
  pass. ``torch.profiler`` with ``profile_memory=True`` makes the CPU allocator report, with
  every allocation and free, its running total of the bytes allocated while profiling; the
  peak is the maximum over the pass minus the level before its first event. Weights and the
  input existed before and are not counted, the output is. Memory that does not come from
  torch's allocator (oneDNN scratch pads, the C library's caching) is not included.
* **RSS peak** -- in a fresh subprocess per case: how far the resident set grows during one
  forward pass after a warm-up pass (the kernel's high-water mark ``VmHWM`` is reset through
  ``/proc/self/clear_refs`` just before). It includes everything the process touches, so it is
  an upper bound next to the torch peak, and noisier.
* **FLOPs** -- :class:`mmengine.analysis.FlopAnalyzer` (which counts one multiply-add as one
  FLOP) for one sample, with a handle for ``aten::scaled_dot_product_attention`` (mmengine has
  none, so it would silently skip every fused attention).
* **Output check** -- every variant (bf16 autocast, channels-last, ``torch.compile``, the
  explicit-softmax reference, a model sharing weights with ours) is compared with the fp32 eager
  output of the model it derives from: the largest absolute difference relative to the largest
  absolute reference value.

Only the CPU is supported: this is what the project's machines have.
"""
from .flops import count_flops
from .memory import MB, peak_from_profile, rss_peak_in_subprocess, torch_peak_memory
from .models import (VIDEO_ARCHS, build_mmaction_pair, build_model, build_spec,
                     mmaction_uniformer_kwargs, output_difference, randomize_batchnorm_,
                     restore_layernorm_eps, set_layernorm_eps, spread_attention_,
                     to_channels_last_, use_explicit_softmax_attention, use_official_layout)
from .profiling import (OP_FAMILIES, copy_stats, cpu_profiler, family_breakdown, op_family,
                        profile_ops, profile_table, quiet_profiler, top_ops)
from .report import bounds_lines, format_group, render_markdown, write_chart
from .runner import load_average, machine_info, max_rel_diff, run_group, run_suite
from .specs import Case, Group, ModelSpec, PreparedCase, Variant, make_input
from .suites import (TOP1, compare_group, compile_suite, default_suite, deploy_suite,
                     peer_specs, quick_suite)
from .targets import compiled_ok, evaluate_targets, light_claim
from .timing import GemmProbe, paired_ratio, time_interleaved

__all__ = [
    'ModelSpec', 'Variant', 'Case', 'Group', 'PreparedCase', 'make_input', 'machine_info',
    'load_average', 'build_model', 'build_spec', 'randomize_batchnorm_', 'spread_attention_',
    'use_explicit_softmax_attention', 'use_official_layout', 'to_channels_last_', 'VIDEO_ARCHS',
    'mmaction_uniformer_kwargs', 'build_mmaction_pair', 'output_difference',
    'set_layernorm_eps', 'restore_layernorm_eps', 'time_interleaved', 'paired_ratio',
    'GemmProbe', 'MB', 'torch_peak_memory', 'peak_from_profile', 'rss_peak_in_subprocess',
    'count_flops',
    'quiet_profiler', 'cpu_profiler', 'profile_ops', 'profile_table', 'top_ops', 'copy_stats',
    'OP_FAMILIES', 'op_family', 'family_breakdown', 'max_rel_diff',
    'run_group', 'run_suite', 'TOP1', 'peer_specs', 'default_suite', 'compile_suite',
    'deploy_suite',
    'quick_suite', 'compare_group', 'evaluate_targets', 'compiled_ok', 'light_claim',
    'format_group', 'bounds_lines', 'render_markdown', 'write_chart'
]
