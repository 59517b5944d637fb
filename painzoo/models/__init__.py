"""The model zoo. Importing this package registers every network."""

from painzoo.models import painseeker  # noqa: F401, I001  (registers its builders)
from painzoo.models import resnet  # noqa: F401  (registers its builders)

__all__: list[str] = []
