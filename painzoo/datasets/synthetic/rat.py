"""Procedural rat faces with the four Rat Grimace Scale action units.

Frontal-to-profile view of an albino (or hooded) laboratory rat. The four RGS action units
(Sotocinal et al. 2011), each 0–2, change:

- ``orbital``: orbital tightening — the eye narrows to a slit, lid creases.
- ``ear``: ear changes — ears rotate outwards, fold and become pointed.
- ``nose``: nose/cheek flattening — the whisker pads and nose flatten, a crease on the bridge.
- ``whisker``: whisker change — whiskers straighten and bunch, pointing forwards, not fanning down.
"""

from __future__ import annotations

import zlib

import numpy as np

import painzoo.datasets.synthetic.render as R

RAT_AUS = ("orbital", "ear", "nose", "whisker")
MASK_NAMES = ("orbital", "ear", "nose", "whisker")

# fmt: off
_FUR_TINTS = [(246, 242, 236), (250, 246, 240), (240, 234, 228), (248, 240, 238),
              (236, 236, 232), (252, 248, 236)]
_MARK_COLORS = [(70, 62, 58), (110, 90, 75), (150, 140, 135)]
_BG_PALETTES = [
    [(120, 130, 140), (180, 170, 150), (90, 95, 105), (200, 190, 160)],
    [(150, 140, 120), (210, 200, 170), (110, 100, 90), (170, 180, 190)],
]
# fmt: on
_EAR_T = np.linspace(0, 2 * np.pi, 24, endpoint=False)


def rat_identity(subject: str, seed: int = 0) -> dict:
    """Per-rat geometry, colours and markings, fixed by the subject id."""
    rng = np.random.default_rng([zlib.crc32(subject.encode()), seed, 7])
    mark = rng.choice(["none", "cap", "spot"], p=[0.5, 0.3, 0.2])
    return {
        "fur": R.shade(_FUR_TINTS[rng.integers(len(_FUR_TINTS))], rng.uniform(0.96, 1.0)),
        "skin": (rng.uniform(225, 245), rng.uniform(150, 175), rng.uniform(160, 185)),
        "eye": (rng.uniform(110, 160), rng.uniform(10, 35), rng.uniform(30, 55)),
        "mark": str(mark),
        "mark_color": _MARK_COLORS[rng.integers(len(_MARK_COLORS))],
        "mark_shift": rng.uniform(-0.2, 0.2),
        "cranium": (rng.uniform(0.88, 1.02), rng.uniform(0.78, 0.92)),
        "muzzle": (rng.uniform(0.55, 0.68), rng.uniform(0.58, 0.72)),
        "eye_size": rng.uniform(0.12, 0.17),
        "eye_x": rng.uniform(0.44, 0.55),
        "eye_open": rng.uniform(0.85, 1.1),
        "ear_size": rng.uniform(0.85, 1.15),
        "ear_tilt": rng.uniform(-0.15, 0.15),
        "n_whiskers": int(rng.integers(5, 8)),
        "whisker_len": rng.uniform(1.2, 1.7),
        "whisker_color": R.shade((235, 235, 230), rng.uniform(0.85, 1.0)),
        "bg": int(rng.integers(len(_BG_PALETTES))),
    }


def render_rat(
    size: int,
    identity: dict,
    aus,
    pose: dict,
    rng: np.random.Generator,
    *,
    style: dict | None = None,
):
    """Draw one rat face.

    Args:
        size: Image side in pixels.
        identity: From :func:`rat_identity`.
        aus: Intensities ``(orbital, ear, nose, whisker)``, each 0–2 (floats allowed).
        pose: ``yaw``, ``roll`` (degrees), ``scale``, ``dx``, ``dy`` (fractions of the image).
        rng: Generator for the nuisance factors (background, light, noise).
        style: Optional overrides of the nuisances (``noise``, ``blur``, ``clutter``, ``light``).

    Returns:
        ``(image uint8 [H, W, 3], masks {name: bool [H, W]}, keypoints {name: (x, y)})``.
    """
    style = style or {}
    au_orb, au_ear, au_nose, au_wh = (float(np.clip(a, 0.0, 2.0)) for a in aus)
    fur, skin = identity["fur"], identity["skin"]
    view = R.View.of_pose(size, pose, 3.0, 0.47)
    palette = _BG_PALETTES[identity["bg"]]
    img = R.background(
        rng, size, palette[0], style.get("clutter", int(rng.integers(3, 9))), palette
    )
    masks = {k: np.zeros((size, size), np.uint8) for k in MASK_NAMES}
    body = view.plane(R.ellipse(-0.25 * view.sy, 1.75, 1.7, 0.95, n=32))
    R.fill(img, body, R.shade(fur, 0.93))

    cw, ch = identity["cranium"]
    mw, mh = identity["muzzle"]
    cranium = ((0.0, -0.15, 0.0), (cw * 0.92, ch * 0.95, 0.9))
    muzzle = ((0.0, 0.55, 0.42), (mw * 0.85, mh, 0.62))

    # Ears sit behind the head: drawn first, the cranium covers their base.
    es = identity["ear_size"]
    for side in (-1, 1):
        base3, nrm = R.ellipsoid_point(side * 0.6 * cw, -0.62 * ch, cranium[1])
        base3 = base3 + np.array([0.0, -0.12, -0.15])
        face = view.facing(np.array([side * 0.55, -0.2, 0.8]))
        if face < -0.35:
            continue
        fx = float(np.clip(0.35 + 0.65 * abs(face), 0.25, 1.0))
        rot = side * (0.45 + identity["ear_tilt"] + 0.42 * au_ear)
        ax = es * (0.42 - 0.09 * au_ear) * fx
        ay = es * (0.5 + 0.03 * au_ear)
        b = view.project(base3)[0]
        # Outline: a round ear that turns pointed (a tip pulled outwards) with the AU.
        t = _EAR_T
        tip = 0.18 * au_ear * np.clip(np.cos(t - np.pi / 2 - side * 0.8), 0, None) ** 4
        ex = (ax + tip * es) * np.cos(t)
        ey = (ay + tip * es) * np.sin(t) - ay * 0.85
        c, s = np.cos(rot), np.sin(rot)
        shape = np.stack([c * ex - s * ey, s * ex + c * ey], 1) * view.scale
        outer = b + _roll(view, shape)
        inner_shape = np.stack(
            [c * ex * 0.68 - s * (ey * 0.74 - 0.04), s * ex * 0.68 + c * (ey * 0.74 - 0.04)], 1
        )
        inner = b + _roll(view, inner_shape * view.scale)
        R.fill(img, outer, R.mix(skin, fur, 0.45))
        R.fill(img, inner, R.shade(skin, 0.93 - 0.06 * au_ear))
        if au_ear > 0.4:
            # The fold: a crease across the ear, stronger as it curls.
            fold = np.stack(
                [
                    c * np.array([-ax, ax]) * 0.8 - s * (-ay * 0.7),
                    s * np.array([-ax, ax]) * 0.8 + c * (-ay * 0.7),
                ],
                1,
            )
            R.stroke(
                img, b + _roll(view, fold * view.scale), R.shade(skin, 0.7), 0.012 * size * au_ear
            )
        R.fill_mask(masks["ear"], outer)
        big = (
            np.stack([c * ex * 1.25 - s * ey * 1.15, s * ex * 1.25 + c * ey * 1.15], 1)
            * view.scale
        )
        R.fill_mask(masks["ear"], b + _roll(view, big))

    wl = identity["whisker_len"]
    pads = []
    for side in (-1, 1):
        p3, n3 = R.ellipsoid_point(side * 0.22 * mw / 0.6, 0.28, (mw, mh, 0.62))
        p3 = p3 + np.array([0.0, 0.5, 0.38])
        pads.append((side, p3, n3, view.facing(n3)))

    def whiskers(side, p3, n3):
        n = identity["n_whiskers"]
        # Relaxed whiskers fan out and droop; with the AU they straighten, bunch, point forwards.
        spread = np.deg2rad(np.linspace(-24, 38, n) * (1.0 - 0.38 * au_wh))
        lift = np.deg2rad(-6.0 * au_wh)
        sag = 0.32 * (1.0 - 0.45 * au_wh)
        length = wl * (1.0 - 0.08 * au_wh)
        fwd = 1.0 - 0.22 * au_wh
        for k, a in enumerate(spread):
            ang = a + lift
            root = p3 + np.array([side * 0.05 * (k % 3), 0.04 * (k - n / 2) / n, 0.05])
            d = np.array([side * np.cos(ang) * fwd, np.sin(ang), 0.35 * au_wh])
            mid = root + d * length * 0.5 + np.array([0.0, sag * length * 0.5, 0.0])
            end = root + d * length + np.array([0.0, sag * length * 0.6, 0.0])
            pts = view.project(R.quad(root, mid, end, n=7))
            R.stroke(img, pts, identity["whisker_color"], 0.008 * size)
            R.stroke_mask(masks["whisker"], pts, 0.05 * size)

    for side, p3, n3, face in pads:
        if face < 0.35:
            whiskers(side, p3, n3)

    # A darker rim under each volume reads as shading and separates the parts.
    R.fill(img, view.silhouette(*cranium), R.shade(fur, 0.86))
    R.fill(
        img,
        view.silhouette(
            (0.03 * view.sy, -0.2, 0.0), (cranium[1][0] * 0.95, cranium[1][1] * 0.93, 0.9)
        ),
        fur,
    )
    R.fill(img, view.silhouette(*muzzle), R.shade(fur, 0.9))
    R.fill(
        img,
        view.silhouette((0.0, 0.5, 0.45), (muzzle[1][0] * 0.93, muzzle[1][1] * 0.9, 0.6)),
        R.mix(fur, skin, 0.06),
    )

    if identity["mark"] != "none":
        mx = identity["mark_shift"]
        if identity["mark"] == "cap":
            shape = R.ellipse(mx * 0.3, 0.0, 0.5, 0.24, n=20)
            anchor, nrm = R.ellipsoid_point(0.0, -0.42 * ch, cranium[1])
        else:
            shape = R.ellipse(0.0, 0.0, 0.22, 0.17, n=20)
            anchor, nrm = R.ellipsoid_point(mx, -0.3 * ch, cranium[1])
        if view.facing(nrm) > 0.3:
            R.fill(
                img,
                view.surface(anchor + np.array([0, -0.15, 0]), nrm, shape),
                identity["mark_color"],
            )

    # Nose / cheek: whisker pads bulge, and flatten with the AU.
    bulge = 1.0 - 0.28 * au_nose
    for _side, p3, n3, face in pads:
        if face < 0.05:
            continue
        shadow = view.surface(
            p3 + np.array([0, 0.05 + 0.07 * bulge, 0]),
            n3,
            R.ellipse(0, 0, 0.27, 0.12 * bulge, n=20),
        )
        R.fill(img, shadow, R.shade(fur, 1.0 - 0.16 * bulge))
        pad = view.surface(p3, n3, R.ellipse(0, 0, 0.25 * (1 + 0.12 * au_nose), 0.2 * bulge, n=20))
        R.fill(img, pad, R.mix(fur, skin, 0.12))
        for k in range(4):
            dot = view.surface(
                p3, n3, R.ellipse(-0.12 + 0.08 * k, -0.03 + 0.05 * (k % 2), 0.017, 0.017, n=12)
            )
            R.fill(img, dot, R.shade(skin, 0.7))
    nose3, nose_n = np.array([0.0, 1.0, 0.9]), np.array([0.0, 0.35, 0.94])
    if view.facing(nose_n) > -0.2:
        nw, nh = 0.16 * (1 + 0.22 * au_nose), 0.12 * (1 - 0.3 * au_nose)
        R.fill(
            img, view.surface(nose3, nose_n, R.ellipse(0, 0, nw, nh, n=20)), R.shade(skin, 0.95)
        )
        for side in (-1, 1):
            R.fill(
                img,
                view.surface(
                    nose3,
                    nose_n,
                    R.ellipse(
                        side * nw * 0.5, nh * 0.15, 0.035, 0.025 * (1 - 0.3 * au_nose), n=12
                    ),
                ),
                R.shade(skin, 0.55),
            )
    bridge_top = np.array([0.0, 0.05, 0.86])
    if au_nose > 0.3:
        bridge = view.project(R.quad(bridge_top, [0.0, 0.5, 1.0], [0.0, 0.85, 0.95], n=6))
        R.stroke(img, bridge, R.shade(fur, 1.0 - 0.1 * au_nose), 0.012 * size)
    nose_region = np.array(
        [
            [-0.55, 0.35, 0.7],
            [0.55, 0.35, 0.7],
            [0.6, 0.95, 0.75],
            [0.25, 1.25, 0.9],
            [-0.25, 1.25, 0.9],
            [-0.6, 0.95, 0.75],
        ]
    )
    R.fill_mask(masks["nose"], view.project(nose_region))
    R.fill_mask(
        masks["nose"],
        view.project(
            np.array(
                [[-0.12, 0.0, 0.85], [0.12, 0.0, 0.85], [0.12, 0.6, 0.95], [-0.12, 0.6, 0.95]]
            )
        ),
    )

    for side, p3, n3, face in pads:
        if face >= 0.35:
            whiskers(side, p3, n3)

    mouth = view.project(
        np.array(
            [
                [0.0, 1.1, 0.85],
                [0.0, 1.2, 0.8],
                [-0.13, 1.27, 0.7],
                [0.0, 1.2, 0.8],
                [0.13, 1.27, 0.7],
            ]
        )
    )
    R.stroke(img, mouth, R.shade(skin, 0.6), 0.01 * size)

    # Eyes with orbital tightening.
    eyes = []
    es_ = identity["eye_size"]
    for side in (-1, 1):
        p3, n3 = R.ellipsoid_point(side * identity["eye_x"] * cw, -0.02, cranium[1])
        eyes.append(view.project(p3)[0])
        face = view.facing(n3)
        if face < 0.12:
            continue
        open_ = identity["eye_open"] * (1.0 - 0.43 * au_orb)
        ring = view.surface(
            p3, n3, R.ellipse(0, 0, es_ * 1.35, es_ * 1.15 * max(open_, 0.35), side * 0.25, n=20)
        )
        R.fill(img, ring, R.shade(fur, 0.9 - 0.05 * au_orb))
        eye = view.surface(p3, n3, R.ellipse(0, 0, es_, es_ * max(open_, 0.08), side * 0.25, n=20))
        R.fill(img, eye, identity["eye"])
        if open_ > 0.35:
            hl = view.surface(
                p3,
                n3,
                R.ellipse(-0.3 * es_, -0.35 * es_ * open_, 0.3 * es_, 0.25 * es_ * open_, n=12),
            )
            R.fill(img, hl, (255, 235, 235))
        if au_orb > 0.3:
            for dy in (-1, 1):
                crease = view.surface(
                    p3,
                    n3,
                    R.arc(
                        0, 0, es_ * 1.5, es_ * (0.5 + 0.3 * open_), np.pi * 1.05, np.pi * 1.95, n=8
                    )
                    * np.array([1, dy]),
                )
                R.stroke(img, crease, R.shade(fur, 0.78), 0.01 * size * au_orb)
        R.fill_mask(
            masks["orbital"], view.surface(p3, n3, R.ellipse(0, 0, es_ * 2.0, es_ * 1.9, n=20))
        )

    out = R.finish(
        rng,
        img,
        style.get("light", (rng.uniform(0.95, 1.1), rng.uniform(0.0, 0.12))),
        rng.uniform(0, 2 * np.pi),
        style.get("blur", rng.uniform(0.0, 0.9)),
        style.get("noise", rng.uniform(2.0, 7.0)),
    )
    left, right = sorted(eyes, key=lambda p: p[0])
    nose_px = view.project(nose3)[0]
    mouth_l, mouth_r = sorted([mouth[2], mouth[4]], key=lambda p: p[0])
    kps = {
        "left_eye": left,
        "right_eye": right,
        "nose": nose_px,
        "mouth_left": mouth_l,
        "mouth_right": mouth_r,
    }
    return out, {k: v.astype(bool) for k, v in masks.items()}, kps


def _roll(view: R.View, pts: np.ndarray) -> np.ndarray:
    return np.stack(
        [pts[:, 0] * view.cr - pts[:, 1] * view.sr, pts[:, 0] * view.sr + pts[:, 1] * view.cr], 1
    )
