"""Training spiking NIR graphs on the ideal model (exact spike-time gradients) and on
platform models (surrogate gradients): data, encoders, readouts, losses, constraints.

Small, optax-idiomatic pieces, no training framework: the loop is yours.

    graph = nirjax.load(nirjax.training.feedforward([w1, w2], tau_mem=1e-2, tau_syn=5e-3, dt=1e-4), warn=False)
    params, static = eqx.partition(graph, nirjax.training.trainable(graph, "fc1.weight", "fc2.weight"))

    def loss(params, spikes, label):
        sol = nirjax.simulate(eqx.combine(params, static), {"input": spikes}, dt=t1, t1=t1, spike_area=1e-4)
        t = nirjax.training.ttfs_readout(sol, "lif2", t1=t1, tau=tau)
        return nirjax.training.ttfs_cross_entropy(t, label, tau=tau)
"""

from ._constraints import keep_valid as keep_valid, trainable as trainable
from ._datasets import CLASS_NAMES as CLASS_NAMES, SPLITS as SPLITS, yinyang as yinyang
from ._encoders import raster as raster, ttfs as ttfs, ttfs_times as ttfs_times
from ._losses import (
    membrane_cross_entropy as membrane_cross_entropy,
    silent_spike_time as silent_spike_time,
    soft_spike_count as soft_spike_count,
    spike_count_cross_entropy as spike_count_cross_entropy,
    stepped_first_spike_time as stepped_first_spike_time,
    target_time_mse as target_time_mse,
    ttfs_cross_entropy as ttfs_cross_entropy,
)
from ._models import feedforward as feedforward
from ._readout import (
    accuracy as accuracy,
    first_spike_steps as first_spike_steps,
    first_spike_times as first_spike_times,
    predict as predict,
    predict_stepped as predict_stepped,
    ttfs_readout as ttfs_readout,
)
