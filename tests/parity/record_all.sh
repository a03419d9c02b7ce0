#!/usr/bin/env bash
# Re-record every golden file: builds the peer envs if needed (setup_envs.sh),
# regenerates the random graphs with the old nir writer, then runs each recorder
# in its environment. Optional recorders (nengo, xylosim) run only if present.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
PEERS_DIR="${PEERS_DIR:-$ROOT/.peers}"
export PEERS_DIR
bash "$ROOT/tests/parity/setup_envs.sh"
NEW="$PEERS_DIR/new/bin/python"
OLD="$PEERS_DIR/old/bin/python"
cd "$ROOT"
if [[ "${REGEN_GRAPHS:-0}" == 1 ]]; then
  "$OLD" tests/parity/make_graphs.py --check
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
du -sh tests/golden
