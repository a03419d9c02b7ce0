import equinox as eqx


class Elementwise(eqx.Module):
    """A node acting element by element: its input and output have its ``shape``."""

    shape: eqx.AbstractVar[tuple[int, ...]]

    @property
    def in_shape(self):
        return self.shape

    @property
    def out_shape(self):
        return self.shape
