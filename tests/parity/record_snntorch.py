"""Record snnTorch 1.0.0 on the parity cases ("new" env: nir 1.0.8, nirtorch 2.6).

Import: `snntorch.import_nir.import_from_nir(nir.read(path))` exactly as a user
would (no options exist: dt is fixed to 1e-4 inside the importer; neurons are
built with init_hidden=True, reset_mechanism="zero", reset_delay=False).
Run: one call per time step on a (B, n) tensor; the fx GraphModule keeps the
hidden state inside the neuron modules, reset before each case with
`snntorch.utils.reset(module)` (the documented way).
Recorded per neuron module (forward hooks on the snnTorch neuron modules):
spikes = the module output, v = module.mem after the step (snnTorch units:
LIF mem = v_NIR * tau/(r*dt), CubaLIF mem = v_NIR * tau_syn/(w_in*dt); both
factors are 1 for the random graphs, 25 for lif_norse.nir), i_syn = module.syn.
"""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import BRAILLE_CASES, DT, RANDOM_CASES, Recorder, case_input, graph_path  # noqa: E402

import nir  # noqa: E402
import torch  # noqa: E402
import snntorch  # noqa: E402
import snntorch.utils  # noqa: E402
from snntorch.import_nir import import_from_nir  # noqa: E402

torch.set_num_threads(2)
NEURONS = ("Leaky", "Synaptic", "RLeaky", "RSynaptic")


def run_case(case):
    g = nir.read(str(graph_path(case)))
    model = import_from_nir(g)
    snntorch.utils.reset(model)
    x = case_input(case)
    neurons = {n: m for n, m in model.named_modules() if type(m).__name__ in NEURONS}
    spikes = {n: [] for n in neurons}
    hooks = [m.register_forward_hook(
        lambda mod, inp, out, n=n: spikes[n].append(
            (out[0] if isinstance(out, tuple) else out).detach().clone()))
        for n, m in neurons.items()]
    v = {n: [] for n in neurons}
    isyn = {n: [] for n, m in neurons.items() if hasattr(m, "syn")}
    out = []
    with torch.no_grad():
        for t in range(x.shape[0]):
            y = model(torch.from_numpy(x[t]))
            y = y[0] if isinstance(y, tuple) else y
            out.append(y.clone())
            for n, m in neurons.items():
                v[n].append(m.mem.detach().clone())
                if n in isyn:
                    isyn[n].append(m.syn.detach().clone())
    for h in hooks:
        h.remove()
    arrays = {"input": x, "output": torch.stack(out).numpy()}
    for n in neurons:
        arrays[f"spikes/{n}"] = torch.stack(spikes[n]).numpy()
        arrays[f"v/{n}"] = torch.stack(v[n]).numpy()
        if n in isyn:
            arrays[f"i_syn/{n}"] = torch.stack(isyn[n]).numpy()
    info = {
        "dt": DT,
        "options": "import_from_nir(graph) (no options; dt=1e-4 hard-coded); snntorch.utils.reset; one call per step",
        "modules": {n: {"type": type(m).__name__, "threshold": float(m.threshold),
                        "beta": m.beta.detach().numpy().round(7).tolist(),
                        **({"alpha": m.alpha.detach().numpy().round(7).tolist()}
                           if hasattr(m, "alpha") else {})}
                    for n, m in neurons.items()},
        "v_units": "snnTorch mem: LIF v_NIR*tau/(r*dt); CubaLIF v_NIR*tau_syn/(w_in*dt) "
                   "(threshold rescaled instead of input)",
        "node_names": "snnTorch module names (= NIR node names; an RNN cycle lif1.lif<->lif1.w_rec becomes module 'lif1')",
    }
    return arrays, info


def main():
    rec = Recorder("snntorch", ["snntorch", "nir", "nirtorch", "torch", "numpy"],
                   notes={"execution": "torch eager, float32, CPU, 2 threads; a*b+c rounds twice",
                          "output": "key 'output' = value returned by the module (last node)"})
    for case in ["lif_paper"] + RANDOM_CASES + list(BRAILLE_CASES):
        rec.run(case, lambda c=case: run_case(c))
    rec.explain("if_chain", "snnTorch maps nir.IF to Leaky(beta=0.9, init_hidden=False): that module "
                            "returns a (spk, mem) tuple which the fx graph passes on to the next Linear")
    for case in ("recurrent", "braille_bias_zero", "braille_subtract"):
        rec.explain(case, "import_from_nir crashes while building the RNN subgraph "
                          "(nirtorch 2.6 nir_to_torch on the NIRGraph node made by "
                          "_replace_rnn_subgraph_with_nirgraph)")
    rec.write()


if __name__ == "__main__":
    main()
