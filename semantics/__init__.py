"""What NIR primitives (and platforms) mean: pure functions, no solvers."""
