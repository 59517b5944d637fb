"""Why does a model say "pain"? Local and global explanations on any Keras backend (Grad-CAM: not JAX)."""

from painzoo.explain._common import overlay_heatmap  # noqa: F401
from painzoo.explain.attention import attention_maps, overlay  # noqa: F401
from painzoo.explain.files import explain_files  # noqa: F401
from painzoo.explain.global_maps import GlobalHeatmaps, global_heatmap, warp_to_face_frame  # noqa: F401
from painzoo.explain.gradcam import gradcam  # noqa: F401
from painzoo.explain.lime import LimeExplanation, lime_explanation  # noqa: F401
from painzoo.explain.localisation import LocalisationScore, localisation_score  # noqa: F401
