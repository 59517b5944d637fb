"""Custom Keras layers of painzoo (serialisable, ``keras.ops`` only)."""

from painzoo.layers.painseeker import PainSeekerAttention
from painzoo.layers.preprocessing import ImageScaling

__all__ = ["ImageScaling", "PainSeekerAttention"]
