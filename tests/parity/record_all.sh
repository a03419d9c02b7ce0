#!/usr/bin/env bash
# Re-record every golden file: builds the peer envs if needed (setup_envs.sh),
# optionally regenerates the random graphs with the old nir writer, then runs each
# recorder in its environment. Optional recorders (nengo, xylosim) run only if present.
#   REGEN_GRAPHS=1  also rebuild tests/golden/graphs/*.nir (files whose content is
#                   unchanged are not rewritten: HDF5 files are not byte-reproducible)
#   CHECK=1         afterwards, fail if any golden file differs from git's version
#                   (`git diff --exit-code tests/golden`): re-recording is byte-identical
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
PEERS_DIR="${PEERS_DIR:-$ROOT/.peers}"
export PEERS_DIR
# the shared folder (nir-paper graphs and traces) sits beside the project root
export NIRJAX_SHARED="${NIRJAX_SHARED:-$ROOT/../shared}"
# nirtorch 2.6 sums in-edges in set order (string hashes): fix the hash seed
export PYTHONHASHSEED=0
bash "$ROOT/tests/parity/setup_envs.sh"
NEW="$PEERS_DIR/new/bin/python"
OLD="$PEERS_DIR/old/bin/python"
cd "$ROOT"
if [[ "${REGEN_GRAPHS:-0}" == 1 ]]; then
  "$OLD" tests/parity/make_graphs.py --check
else
  "$OLD" tests/parity/make_graphs.py --verify
fi
"$NEW" tests/parity/record_snntorch.py
"$NEW" tests/parity/record_norse.py
"$NEW" tests/parity/record_spyx.py
"$OLD" tests/parity/record_sinabs.py
"$OLD" tests/parity/record_rockpool.py
for opt in nengo xylosim; do
  if [[ -f tests/parity/record_$opt.py ]] && "$OLD" -c "import $opt" 2>/dev/null; then
    "$OLD" tests/parity/record_$opt.py
  fi
done
# issue 9: a trained classifier run in the real frameworks (when its graph and inputs are committed)
PRED=tests/golden/predictions
for model in "$PRED"/*_model.nir; do
  [[ -f "$model" ]] || continue
  name="$(basename "$model" _model.nir)"
  "$NEW" tests/parity/record_predictions.py --frameworks snntorch,norse,spyx \
    --graph "$model" --inputs "$PRED/${name}_inputs.npz" --out "$PRED" --name "$name"
  "$OLD" tests/parity/record_predictions.py --frameworks rockpool,sinabs \
    --graph "$model" --inputs "$PRED/${name}_inputs.npz" --out "$PRED" --name "$name"
done
du -sh tests/golden
# the findings in README.md, re-implemented in numpy, against the fresh recordings
"$OLD" tests/parity/verify_rules.py
if [[ "${CHECK:-0}" == 1 ]]; then
  git -C "$ROOT" status --short tests/golden
  if git -C "$ROOT" diff --quiet tests/golden \
      && test -z "$(git -C "$ROOT" status --porcelain --untracked-files=all tests/golden)"; then
    echo "[record_all] re-recording is byte-identical to the committed goldens"
  else
    echo "[record_all] the recordings differ from the committed goldens (see git status above)" >&2
    exit 1
  fi
fi
