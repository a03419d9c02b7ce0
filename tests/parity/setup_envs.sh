#!/usr/bin/env bash
# Create the two peer-framework virtualenvs used to record parity golden files.
#   "new": nir 1.0.8, nirtorch 2.6, snnTorch 1.0.0, Norse 1.1.0, Spyx 1.0.0
#   "old": nir 1.0.4, nirtorch 2.0.2, Sinabs 3.1.3, Rockpool 3.1.0 (+ xylosim, nengo if they install)
# The environments live outside git-tracked paths, at $PEERS_DIR (default <repo>/.peers).
# Idempotent: an environment whose marker file exists is skipped (FORCE=1 rebuilds).
# torch is always the local CPU wheel: every pip call gets a constraints file pinning torch==2.13.0,
# and the env's lock tests/parity/constraints-<env>.txt (pip freeze of the env the goldens were
# recorded with), so a rebuilt env re-records the goldens byte for byte.
# samna (declared by sinabs) is never installed: it downloads from the internet on import.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
PEERS_DIR="${PEERS_DIR:-$ROOT/.peers}"
PYTHON="${PYTHON:-python3.11}"
mkdir -p "$PEERS_DIR"
CONSTRAINTS="$PEERS_DIR/constraints.txt"
printf 'torch==2.13.0\n' > "$CONSTRAINTS"

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
pipc() {  # pip with the torch constraint and the env's lock always applied
  local env="$1"; shift
  "$PEERS_DIR/$env/bin/python" -m pip install --quiet -c "$CONSTRAINTS" -c "$HERE/constraints-$env.txt" "$@"
}

make_env() {
  local env="$1"
  if [[ -f "$PEERS_DIR/$env/.complete" && "${FORCE:-0}" != 1 ]]; then
    echo "[setup_envs] $env: already there ($PEERS_DIR/$env), skipping"
    return 1
  fi
  rm -rf "$PEERS_DIR/$env"
  "$PYTHON" -m venv "$PEERS_DIR/$env"
  pipc "$env" --upgrade pip wheel setuptools
  pipc "$env" torch==2.13.0
  return 0
}

if make_env new; then
  echo "[setup_envs] building 'new'"
  pipc new --no-deps nir==1.0.8 nirtorch==2.6 snntorch==1.0.0 norse==1.1.0 spyx==1.0.0
  pipc new numpy scipy h5py jax jaxlib flax optax chex grain jax-tqdm tqdm
  touch "$PEERS_DIR/new/.complete"
fi

if make_env old; then
  echo "[setup_envs] building 'old'"
  pipc old --no-deps nir==1.0.4 nirtorch==2.0.2 sinabs==3.1.3 rockpool==3.1.0
  pipc old numpy scipy h5py matplotlib pbr tqdm
  # optional extras: record whether they installed
  : > "$PEERS_DIR/old/optional.txt"
  for extra in xylosim nengo==4.1.0; do
    if pipc old "$extra"; then echo "$extra ok" >> "$PEERS_DIR/old/optional.txt";
    else echo "$extra FAILED" >> "$PEERS_DIR/old/optional.txt"; fi
  done
  touch "$PEERS_DIR/old/.complete"
fi

# never keep samna (a dependency stub that runs pip from the internet on import)
for env in new old; do
  if "$PEERS_DIR/$env/bin/python" -m pip show samna >/dev/null 2>&1; then
    "$PEERS_DIR/$env/bin/python" -m pip uninstall -y samna
  fi
done

for env in new old; do
  echo "[setup_envs] $env:"
  "$PEERS_DIR/$env/bin/python" -m pip list 2>/dev/null | grep -iE '^(nir|nirtorch|snntorch|norse|spyx|sinabs|rockpool|xylosim|nengo|torch|jax|jaxlib|flax|numpy) ' || true
done
