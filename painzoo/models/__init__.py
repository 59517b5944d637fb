"""The model zoo. Importing this package registers every network and the LBP baselines."""

from painzoo.models import painseeker  # noqa: F401, I001  (registers its builders)
from painzoo.models import resnet  # noqa: F401  (registers its builders)
from painzoo.models import alexnet  # noqa: F401
from painzoo.models import songnet  # noqa: F401
from painzoo.models import weinet  # noqa: F401
from painzoo.models import silnet  # noqa: F401
from painzoo.models import applications  # noqa: F401
from painzoo.models import lbp_svm  # noqa: F401  (the LBP + SVM baselines, kind sklearn)

__all__: list[str] = []
