"""Record snnTorch 1.0.0 on the parity cases ("new" env: nir 1.0.8, nirtorch 2.6).

Import: `snntorch.import_nir.import_from_nir(nir.read(path))` exactly as a user
would (no options exist: dt is fixed to 1e-4 inside the importer; neurons are
built with init_hidden=True, reset_mechanism="zero", reset_delay=False).
Run: one call per time step on a (B, n) tensor, carrying the state dict the
nirtorch 2.6 GraphModule returns (`y, state = model(x_t, state)`, nirtorch's
documented loop). The neuron modules keep their own hidden state
(init_hidden=True), reset before each case with `snntorch.utils.reset(module)`.
The carried dict holds what recurrent edges read: calling `model(x_t)` without it
starts every step from a fresh dict (the generated code has the default state as a
literal), so a recurrent edge always reads 0. Feed-forward graphs give identical
results either way (checked); the variant `rnn_a_stateless` records the recurrent
graph called without the state (manifest section "variants").
Recorded per neuron module (forward hooks on the snnTorch neuron modules):
spikes = the module output, v = module.mem after the step (snnTorch units:
LIF mem = v_NIR * tau/(r*dt), CubaLIF mem = v_NIR * tau_syn/(w_in*dt); both
factors are 1 for the random graphs, 25 for lif_norse.nir), i_syn = module.syn.
Keys are NIR node names; the snnTorch module path of each is in `framework_names`
(an RNN block `lif1.lif <-> lif1.w_rec` becomes the sub-GraphModule `lif1` holding
`lif1_lif` and `lif1_w_rec`).
"""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import (BRAILLE_CASES, DT, GRAPH_CASES, Recorder, case_input, graph_path,  # noqa: E402
                    sanitized_names)

import contextlib  # noqa: E402
import io  # noqa: E402

import nir  # noqa: E402
import torch  # noqa: E402
import snntorch  # noqa: E402
import snntorch.utils  # noqa: E402
from snntorch.import_nir import import_from_nir  # noqa: E402

torch.set_num_threads(2)
NEURONS = ("Leaky", "Synaptic", "RLeaky", "RSynaptic")


def nir_key(module_path, names):
    """NIR node name of a (possibly nested) nirtorch 2.6 module path."""
    leaf = module_path.rsplit(".", 1)[-1]
    hit = names.get(leaf, leaf)
    return hit if isinstance(hit, str) else module_path


def run_case(case, carry_state=True):
    return run_graph(graph_path(case), case_input(case), carry_state)


def run_graph(path, x, carry_state=True):
    """Import the NIR file at `path` and run it on x (T, B, *in) -> (arrays, info)."""
    g = nir.read(str(path))
    names = sanitized_names(nir.read(str(path)))
    log = io.StringIO()
    with contextlib.redirect_stdout(log):  # the importer prints its RNN rewiring and w_scale hacks
        model = import_from_nir(g)
    snntorch.utils.reset(model)
    neurons = {n: m for n, m in model.named_modules() if type(m).__name__ in NEURONS}
    spikes = {n: [] for n in neurons}
    hooks = [m.register_forward_hook(
        lambda mod, inp, out, n=n: spikes[n].append(
            (out[0] if isinstance(out, tuple) else out).detach().clone()))
        for n, m in neurons.items()]
    v = {n: [] for n in neurons}
    isyn = {n: [] for n, m in neurons.items() if hasattr(m, "syn")}
    out, state = [], None
    with torch.no_grad():
        for t in range(x.shape[0]):
            if carry_state:
                y, state = model(torch.from_numpy(x[t]), state)
            else:
                y = model(torch.from_numpy(x[t]))[0]
            out.append(y.clone())
            for n, m in neurons.items():
                v[n].append(m.mem.detach().clone())
                if n in isyn:
                    isyn[n].append(m.syn.detach().clone())
    for h in hooks:
        h.remove()
    arrays = {"input": x, "output": torch.stack(out).numpy()}
    key = {n: nir_key(n, names) for n in neurons}
    for n in neurons:
        arrays[f"spikes/{key[n]}"] = torch.stack(spikes[n]).numpy()
        arrays[f"v/{key[n]}"] = torch.stack(v[n]).numpy()
        if n in isyn:
            arrays[f"i_syn/{key[n]}"] = torch.stack(isyn[n]).numpy()
    info = {
        "dt": DT,
        "options": "import_from_nir(graph) (no options; dt=1e-4 hard-coded); snntorch.utils.reset; one call "
                   + ("per step carrying the returned state dict" if carry_state else
                      "per step WITHOUT the state dict (model(x_t)): recurrent edges read 0"),
        "framework_names": {key[n]: n for n in neurons},
        "importer_log": [line for line in log.getvalue().splitlines() if line.strip()][:6],
        "modules": {key[n]: {"type": type(m).__name__, "threshold": float(m.threshold),
                        "beta": m.beta.detach().numpy().round(7).tolist(),
                        **({"alpha": m.alpha.detach().numpy().round(7).tolist()}
                           if hasattr(m, "alpha") else {})}
                    for n, m in neurons.items()},
        "v_units": "snnTorch mem: LIF v_NIR*tau/(r*dt); CubaLIF v_NIR*tau_syn/(w_in*dt) "
                   "(threshold rescaled instead of input)",
        "node_names": "NIR node names (snnTorch module paths in framework_names)",
    }
    return arrays, info


CRASH_RNN = ("import_from_nir crashes while wiring the RNN block: nirtorch 2.6 _construct_fx_graph "
             "visits the nodes in the graph's order (nir.read: alphabetical), rotated to start at the Input, "
             "the block inserted by _replace_rnn_subgraph_with_nirgraph last; a node whose source is not yet "
             "built is re-queued, and re-visiting the block re-runs `_construct_fx_graph` on the GraphModule it "
             "already built (no .items()). Here the node feeding the block sorts before the Input's name.")


def main():
    rec = Recorder("snntorch", ["snntorch", "nir", "nirtorch", "torch", "numpy"],
                   notes={"execution": "torch eager, float32, CPU, 2 threads; a*b+c rounds twice",
                          "output": "key 'output' = value returned by the module (last node)"})
    for case in ["lif_paper"] + GRAPH_CASES + list(BRAILLE_CASES):
        rec.run(case, lambda c=case: run_case(c))
    for case in ("if_chain", "conv_if_a", "conv_if_b"):
        rec.explain(case, "snnTorch maps nir.IF to Leaky(beta=0.9, init_hidden=False): that module "
                          "returns a (spk, mem) tuple which the fx graph passes on to the next layer")
    for case in ("recurrent", "braille_bias_zero", "braille_subtract", "names_rnn_braille", "names_rnn_in"):
        rec.explain(case, CRASH_RNN)
    for case in ("vleak_lif", "vleak_cuba", "vleak_rnn"):
        rec.explain(case, "snnTorch asserts v_leak == 0 (import_nir._nir_to_snntorch_module)")
    # the recurrent graph called as model(x_t) without the state dict (recurrent edges read 0)
    variant = Recorder("snntorch", ["snntorch"])
    variant.run("rnn_a_stateless", lambda: run_case("rnn_a", carry_state=False))
    entry = variant.manifest["cases"]["rnn_a_stateless"]
    entry["graph"] = rec.manifest["cases"]["rnn_a"]["graph"]
    entry["explanation"] = ("rnn_a run as model(x_t) without passing the state dict back: the generated "
                            "forward() builds a fresh default state dict each call, so "
                            "`state.get('lif1_lif_prev_output', zeros)` is 0 at every step: "
                            "lif1 = CubaLIF(W_rec x + b_rec)")
    rec.manifest["variants"] = {"rnn_a_stateless": entry}
    rec.write()


if __name__ == "__main__":
    main()
