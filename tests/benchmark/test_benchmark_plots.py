"""The benchmark's figures: chance line, offsets, fixed colours, legend outside, ticks."""

from __future__ import annotations

import math

from matplotlib.colors import to_hex

from qbloodcell.benchmark._plots import METHOD_COLOURS, method_colour, plot_accuracy


def _summary(methods, sizes):
    out = []
    for i, method in enumerate(methods):
        for size in sizes:
            stat = {"mean": 0.6 + 0.01 * i, "ci95": 0.5, "low": 0.1, "high": 1.0, "n": 10}
            out.append(
                {"method": method, "n_samples_per_class": size, "n_runs": 10, "accuracy": stat}
            )
    return out


def _lines(figure):
    """The data line of every method's error bars, and the chance line, by label."""
    axes = figure.axes[0]
    lines = {c.get_label(): c.lines[0] for c in axes.containers}
    lines.update(
        {line.get_label(): line for line in axes.get_lines() if line.get_label() == "chance"}
    )
    return lines


def test_accuracy_plot_chance_line_offsets_colours_ticks_and_legend(tmp_path):
    labels = {"ep": "EP", "dense": "Dense", "mine": "Mine"}
    figure = plot_accuracy(_summary(labels, [50, 100, 250]), labels, tmp_path / "a.png")
    assert (tmp_path / "a.png").exists()
    axes = figure.axes[0]
    lines = _lines(figure)
    # a dashed chance line at 50 %
    chance = lines["chance"]
    assert list(chance.get_ydata()) == [50, 50]
    assert chance.get_linestyle() == "--"
    # one fixed colour per built-in method, a stable one for others
    assert to_hex(lines["EP"].get_color()) == METHOD_COLOURS["ep"]
    assert to_hex(lines["Dense"].get_color()) == METHOD_COLOURS["dense"]
    assert to_hex(lines["Mine"].get_color()) == method_colour("mine")
    # the methods are shifted sideways, each by the same amount at every size
    xs = {label: list(lines[label].get_xdata()) for label in labels.values()}
    firsts = sorted(x[0] for x in xs.values())
    assert len(set(firsts)) == 3
    assert all(abs(x - 50) < 25 for x in firsts)
    # the sizes are the x ticks, as integers
    assert list(axes.get_xticks()) == [50, 100, 250]
    assert [t.get_text() for t in axes.get_xticklabels()] == ["50", "100", "250"]
    # the legend sits outside the axes, on the right
    legend = axes.get_legend()
    assert legend.get_bbox_to_anchor().x0 > axes.get_window_extent().x1 - 1
    # the error bars stay inside [0, 100] %
    y_low, y_high = 100 * 0.1, 100 * 1.0
    for collection in axes.collections:
        for segment in collection.get_segments():
            ys = [point[1] for point in segment]
            assert min(ys) >= y_low - 1e-9
            assert max(ys) <= y_high + 1e-9


def test_colour_does_not_depend_on_the_selection(tmp_path):
    alone = _lines(plot_accuracy(_summary(["vqc"], [50]), {"vqc": "VQC"}, None))
    with_others = _lines(
        plot_accuracy(
            _summary(["cnn", "vqc"], [50]), {"cnn": "CNN", "vqc": "VQC"}, None, chance=None
        )
    )
    assert to_hex(alone["VQC"].get_color()) == to_hex(with_others["VQC"].get_color())
    assert "chance" not in with_others
    assert not math.isnan(alone["VQC"].get_xdata()[0])
