"""Small helpers every layer of painzoo may import (no Keras, no TensorFlow)."""
