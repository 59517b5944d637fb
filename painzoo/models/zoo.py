"""The zoo as a table: each model's metadata and where its builder lives.

This module imports nothing: :mod:`painzoo.registry` makes a :class:`~painzoo.registry.ModelInfo`
of each entry of :data:`ZOO` without Keras, and imports the entry's ``builder``
(``"module:function"``) only when :func:`~painzoo.registry.get_model` builds the model, passing it
the entry's ``kwargs``. The documentation's model table is read from here too.

The LBP + SVM baselines are a family (:data:`FAMILIES`): every name ``lbp_svm_r<R>p<P>_<G>x<G>``
resolves to a model of kind ``"sklearn"``; P1's six variants are listed in :data:`ZOO`.
"""

from __future__ import annotations

import re

__all__ = ["ZOO", "FAMILIES", "LBP_BASELINES", "LBP_NAME", "PAINSEEKER_DEFAULTS", "lbp_entry"]

P2_CITATION = (
    "Sabater-Gárriz, Gaya-Morey, Buades-Rubio, Manresa-Yee, Montoya, Riquelme. "
    "Automated facial recognition system using deep learning for pain assessment in "
    "adults with cerebral palsy. Digital Health 10, 2024. doi:10.1177/20552076241259664"
)
PAINSEEKER_CITATION = (
    "Liu, Li, Deng, Li, Lu, Zong, Yu. PainSeeker: a head pose-invariant deep learning "
    "method for assessing rat's pain by facial expressions. Front. Vet. Sci. 12:1619794, "
    "2025. doi:10.3389/fvets.2025.1619794"
)
LBP_CITATION = (
    "Liu et al. PainSeeker: a head pose-invariant deep learning method for assessing rat's "
    "pain by facial expressions. Front. Vet. Sci. 2025;12:1619794 (LBP + linear SVM "
    "baselines, Table 3); Ahonen, Hadid, Pietikäinen. Face description with local binary "
    "patterns. IEEE TPAMI 2006."
)
#: λ, δ and K_h of PainSeeker (P1, "Comparison methods and implementation detail").
PAINSEEKER_DEFAULTS = {"prsc_weight": 0.1, "margin": 0.2, "top_k": 5}


def _p2(name, citation, params, params_6, paper, description, *, shape=224, **extra):
    """A P2 network: from scratch (no ``family``) or a ``keras.applications`` one."""
    family = extra.pop("family", None)
    if family:
        module, tags = "applications", ("p2", "imagenet", "keras_applications", family)
    else:  # ``same`` padding: ceil(input / stride) >= 1 for any non-empty input
        module, tags, extra = name, ("p2", "from_scratch", name), {"min_input": 1}
    return dict(
        builder=f"painzoo.models.{module}:{name}",
        input_shape=(shape, shape, 3),
        citation=f"{citation}. Used by {P2_CITATION}",
        weights=("imagenet",) if family else (),
        tags=tags,
        params=params,
        params_6=params_6,
        paper_params=paper,
        description=description,
        extra=extra,
    )


def _application(title, citation, params, params_6, paper, family, min_input, scaling, **kw):
    name = title.lower()
    return _p2(
        name,
        citation,
        params,
        params_6,
        paper,
        f"{title} (ImageNet) + GAP + softmax{kw.get('note', '')}.",
        family=family,
        min_input=min_input,
        scaling=scaling,
        imagenet_file=f"{kw.get('stem', name)}_weights_tf_dim_ordering_tf_kernels_notop.h5",
    )


def _painseeker(name, description, tags=(), extra=None):
    return dict(
        builder=f"painzoo.models.painseeker:{name}",
        input_shape=(224, 224, 3),
        citation=PAINSEEKER_CITATION,
        weights=("imagenet",),
        tags=("p1", "painseeker", "attention", "resnet", *tags),
        params=11_187_651,
        description=description,
        # Smallest input whose grid has more than the default K_h = 5 regions (3×3 from 65 px).
        extra={"min_input": 65, **(extra or {})},
    )


LBP_NAME = re.compile(r"^lbp_svm_r(\d+)p(\d+)_(\d+)x\3$")
#: P1's six LBP + SVM variants: name -> :class:`~painzoo.models.lbp_svm.LBPSVM` arguments.
LBP_BASELINES = {
    f"lbp_svm_r{r}p8_{g}x{g}": {"radius": r, "points": 8, "grid": g}
    for r in (1, 3)
    for g in (4, 8, 16)
}


def lbp_entry(radius: int, points: int, grid: int) -> dict:
    """The table entry of the LBP + SVM baseline with these arguments."""
    p1 = f"lbp_svm_r{radius}p{points}_{grid}x{grid}" in LBP_BASELINES
    return dict(
        builder="painzoo.models.lbp_svm:lbp_svm",
        kwargs={"radius": radius, "points": points, "grid": grid},
        citation=LBP_CITATION,
        tags=("p1", "baseline", "lbp"),
        description=(
            f"Uniform LBP (R = {radius}, P = {points}) histograms on a {grid}×{grid} grid "
            f"+ linear SVM (C = 1); {'' if p1 else 'a variant of '}P1's baseline."
        ),
        kind="sklearn",
    )


_VGG = (
    "Simonyan, Zisserman. Very deep convolutional networks for large-scale image "
    "recognition. ICLR 2015"
)
_RESNET = "He, Zhang, Ren, Sun. Deep residual learning for image recognition. CVPR 2016"
_RESNET_V2 = "He, Zhang, Ren, Sun. Identity mappings in deep residual networks. ECCV 2016"
_INCEPTION = (
    "Szegedy, Vanhoucke, Ioffe, Shlens, Wojna. Rethinking the Inception architecture for "
    "computer vision. CVPR 2016"
)
_XCEPTION = "Chollet. Xception: deep learning with depthwise separable convolutions. CVPR 2017"
_ALEXNET = (
    "Krizhevsky, Sutskever, Hinton. ImageNet classification with deep convolutional "
    "neural networks. NeurIPS 2012"
)
_SONGNET = (
    "Song, Kim, Jeon. Deep learning for real-time robust facial expression recognition "
    "on a smartphone. ICCE 2014"
)
_WEINET = (
    "Li, Li, Su, Zhu. A deep-learning approach to facial expression recognition with "
    "candid images. MVA 2015"
)
_SILNET = (
    "Ramis, Buades, Perales, Manresa-Yee. A novel approach to cross dataset studies in "
    "facial expression recognition. Multimedia Tools and Applications 81, 2022"
)

#: Every model of the zoo: name -> ``builder`` ("module:function"), optional ``kwargs`` for it,
#: and the :class:`~painzoo.registry.ModelInfo` fields. ``params`` is ``model.count_params()``
#: with 2 classes at ``input_shape``, ``params_6`` with 6 (P2 Table 3), ``paper_params`` the
#: paper's figure. ``min_input`` of an application is the smallest input whose last feature map
#: is still at least 1×1: VGG's five valid 2×2 pools need 32 px and InceptionV3's valid-padded
#: stem and reductions 75 px (keras.applications' documented min_size); ResNet50/101V2 pad
#: explicitly before every strided layer, so any size works (Keras documents 32), and Xception
#: shrinks only in its two valid stem convolutions, so 7 px works (Keras documents 71).
ZOO: dict[str, dict] = {
    "alexnet": _p2(
        "alexnet",
        _ALEXNET,
        88_702_338,
        88_718_726,
        "88.7 M",
        "AlexNet with three 4096-unit dense layers, trained from scratch in P2.",
    ),
    "songnet": _p2(
        "songnet",
        _SONGNET,
        147_586,
        172_678,
        "172.7 K",
        "Four 5×5/3×3 convolutions with dropout; trained from scratch in P2.",
    ),
    "weinet": _p2(
        "weinet",
        _WEINET,
        679_650,
        1_728_230,
        "1.7 M",
        "Three 7×7 convolutions at full resolution on 64×64 faces; from scratch in P2.",
        shape=64,
    ),
    "silnet": _p2(
        "silnet",
        _SILNET,
        184_849_986,
        184_852_038,
        "184.9 M",
        "Five convolutions and two 512-unit dense layers on 150×150 faces; from scratch in P2.",
        shape=150,
    ),
    "vgg16": _application("VGG16", _VGG, 14_715_714, 14_717_766, "14.7 M", "vgg", 32, "caffe"),
    "vgg19": _application("VGG19", _VGG, 20_025_410, 20_027_462, "20 M", "vgg", 32, "caffe"),
    "resnet50": _application(
        "ResNet50", _RESNET, 23_591_810, 23_600_006, "23.6 M", "resnet", 1, "caffe"
    ),
    "resnet101v2": _application(
        "ResNet101V2", _RESNET_V2, 42_630_658, 42_638_854, "42.6 M", "resnet", 1, "tf"
    ),
    "inceptionv3": _application(
        "InceptionV3",
        _INCEPTION,
        21_806_882,
        21_815_078,
        "21.8 M",
        "inception",
        75,
        "tf",
        stem="inception_v3",
        note="; P2's best model on CP-PAIN",
    ),
    "xception": _application(
        "Xception", _XCEPTION, 20_865_578, 20_873_774, "20.9 M", "xception", 7, "tf"
    ),
    "resnet18": dict(
        builder="painzoo.models.resnet:resnet18",
        input_shape=(224, 224, 3),
        citation="He, Zhang, Ren, Sun. Deep Residual Learning for Image Recognition. CVPR 2016.",
        weights=("imagenet",),
        tags=("p1", "baseline", "resnet"),
        params=11_187_138,
        description="ResNet-18 in torchvision's layout; P1's baseline and PainSeeker's backbone.",
        extra={"min_input": 32},
    ),
    "painseeker": _painseeker(
        "painseeker",
        "ResNet-18 regions fused by attention scores calibrated with PRSC (P1).",
        extra={
            "defaults": PAINSEEKER_DEFAULTS,
            # P1's sensitivity grid (Figure 5); one value varies, the others stay default.
            "sensitivity_grid": {
                "prsc_weight": (0.05, 0.1, 0.5, 1.0, 1.5),
                "margin": (0.05, 0.1, 0.15, 0.2, 0.5),
                "top_k": (3, 5, 10, 15, 20),
            },
        },
    ),
    "painseeker_no_prsc": _painseeker(
        "painseeker_no_prsc",
        'PainSeeker without the PRSC term (λ = 0), "PainSeeker w/o PRSC" in P1.',
        tags=("ablation",),
    ),
    **{name: lbp_entry(**args) for name, args in LBP_BASELINES.items()},
}

#: Families of names resolved on demand: pattern -> entry of a matching name.
FAMILIES = ((LBP_NAME, lambda match: lbp_entry(*(int(v) for v in match.groups()))),)
