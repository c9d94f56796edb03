"""
============================================
Barren plateaus: gradient variance vs qubits
============================================

At a random point of a deep random circuit, the gradient of an expectation value is
exponentially small in the number of qubits (McClean et al. 2018): its variance over random
parameters decays like :math:`2^{-n}`, and a gradient-based optimizer started there sees a
flat landscape. :func:`qbloodcell.quantum.gradient_variance` measures that variance with
exact parameter-shift derivatives on the batched simulator. This example

1. reproduces the decay for McClean's random hardware-efficient circuits, shallow and deep;
2. puts the study's circuit family (ZZ feature map and RealAmplitudes) beside them, with
   the study's own 4-qubit circuit marked;
3. prints the study circuit's depth against the "depth 12" of the paper.
"""

# %%
# Random hardware-efficient circuits and the study's family
# ---------------------------------------------------------
# McClean's circuits: :math:`R_Y(\pi/4)` on every qubit, then per layer a rotation about a
# random axis on every qubit and a ladder of CZ gates. The derivative is that of
# :math:`\langle Z_0 \rangle` with respect to the first weight, over 100 random draws.
# The study family draws a random input in :math:`[0, 2]^n` (the study's angle range)
# with every weight vector.
import matplotlib.pyplot as plt
import numpy as np

from qbloodcell.quantum import circuit_depth_report, gradient_variance

random_circuits = gradient_variance(
    "hardware_efficient",
    n_qubits=(2, 4, 6, 8),
    n_layers=(1, 10, 100),
    n_draws=100,
    random_state=0,
)
study_family = gradient_variance(
    "study", n_qubits=(2, 4, 6, 8), n_layers=(1, 5), n_draws=100, random_state=0
)
table = random_circuits + study_family
for row in table.rows:
    print(
        f"{row['family']:18s} {row['n_qubits']:2d} qubits {row['n_layers']:3d} layers "
        f"{row['n_weights']:4d} weights: variance {row['variance']:.2e}"
    )

# %%
# The figure
# ----------
# A line per family and depth, the variance on a log scale, and the slope of
# :math:`2^{-n}` for reference (through the deep random circuits' 4-qubit point).
fig, ax = plt.subplots(figsize=(7, 4.5))
table.plot(ax=ax)
deep = {r["n_qubits"]: r["variance"] for r in random_circuits.rows if r["n_layers"] == 100}
n = np.array(sorted(deep))
ax.semilogy(n, deep[4] * 2.0 ** (4 - n), ":", color="grey", label=r"$\propto 2^{-n}$")
ax.legend(fontsize="small", ncol=2)
ax.set_title("Gradient variance at random parameters")
fig.tight_layout()

# %%
# Shallow random circuits (one layer) keep a variance of order 0.1 at every size: the
# derivative of :math:`\langle Z_0 \rangle` depends only on the few gates in its light
# cone. With 100 layers the variance falls by roughly a factor 2 per qubit, the barren
# plateau. The study's family falls off with the qubit count already at one ansatz layer:
# its fully entangling ZZ feature map on random inputs does the scrambling. At the study's
# size (4 qubits, star) the variance is still large, so the plateau is not what limits
# the study's model; it would be at a few more qubits.

# %%
# The depth of the study's circuit
# --------------------------------
# The paper calls its circuit "depth 12". As built (ZZ feature map with 2 repetitions,
# RealAmplitudes with 1, on 4 qubits) and after transpiling to IBM's basis
# ``rz, sx, x, cx`` with all-to-all connectivity, it is much deeper:
for row in circuit_depth_report((0, 1, 3)):
    cx = "" if row["cx"] is None else f", {row['cx']} CX"
    print(f"{row['stage']:35s} depth {row['depth']}{cx}")
