"""Procedural human faces driven by the PSPI action units.

Each subject has a skin tone, face shape, hair, eye colour and (optionally) an asymmetry. The
pain action units of the Prkachin–Solomon Pain Intensity (PSPI) change:

- ``4`` brow lowerer: brows drop and knit, vertical furrows between them.
- ``6`` cheek raiser: cheeks lift, a fold under the eye, crow's feet.
- ``7`` lid tightener: the eye aperture narrows.
- ``9`` nose wrinkler: wrinkles across the bridge, flared nostrils.
- ``10`` upper-lip raiser: the upper lip lifts, nasolabial folds deepen.
- ``43`` eyes closed.

Intensities follow FACS A–E as 1–5 (AU43 is 0/1), so PSPI runs 0–16. Non-pain "distractor"
movements (mouth open, smile, raised brows) are separate arguments.
"""

from __future__ import annotations

import zlib

import numpy as np

import painzoo.datasets.synthetic.render as R

HUMAN_AUS = ("4", "6", "7", "9", "10", "43")
MASK_NAMES = ("au_4", "au_6_7", "au_9_10", "au_43")

# fmt: off
_SKIN = [(255, 224, 196), (241, 194, 160), (224, 172, 130), (198, 134, 96), (160, 100, 66),
         (112, 70, 46), (88, 56, 38)]
_HAIR = [(30, 24, 20), (70, 48, 30), (120, 84, 50), (190, 160, 110), (150, 150, 150),
         (100, 40, 20)]
_IRIS = [(70, 45, 25), (60, 90, 120), (80, 110, 70), (110, 80, 45)]
_CLOTH = [(40, 60, 110), (150, 40, 40), (60, 110, 70), (200, 200, 200), (40, 40, 40),
          (160, 120, 60)]
_BG = [(205, 205, 200), (170, 180, 190), (190, 175, 150), (120, 130, 125), (225, 220, 210)]
# fmt: on


def human_identity(subject: str, seed: int = 0, *, asymmetry: float = 0.0) -> dict:
    """Per-person geometry and colours, fixed by the subject id.

    Args:
        subject: Subject id.
        seed: Dataset seed.
        asymmetry: 0 for typical faces; up to 1 droops one side (brow, eye,
            mouth corner) as in some faces of people with cerebral palsy.
    """
    rng = np.random.default_rng([zlib.crc32(subject.encode()), seed, 11])
    skin = _SKIN[rng.integers(len(_SKIN))]
    skin = R.shade(skin, rng.uniform(0.95, 1.05))
    return {
        "skin": skin,
        "lip": R.mix(skin, (170, 70, 80), rng.uniform(0.25, 0.45)),
        "hair": _HAIR[rng.integers(len(_HAIR))],
        "hair_style": str(
            rng.choice(["short", "long", "bald", "short"], p=[0.4, 0.35, 0.1, 0.15])
        ),
        "iris": _IRIS[rng.integers(len(_IRIS))],
        "cloth": _CLOTH[rng.integers(len(_CLOTH))],
        "face_w": rng.uniform(0.78, 0.92),
        "face_h": rng.uniform(0.95, 1.1),
        "jaw": rng.uniform(0.62, 0.85),
        "eye_x": rng.uniform(0.35, 0.4),
        "eye_y": rng.uniform(-0.14, -0.06),
        "eye_w": rng.uniform(0.16, 0.19),
        "eye_h": rng.uniform(0.07, 0.09),
        "brow_th": rng.uniform(0.04, 0.065),
        "brow_gap": rng.uniform(0.1, 0.16),
        "nose_w": rng.uniform(0.11, 0.15),
        "nose_len": rng.uniform(0.3, 0.38),
        "mouth_w": rng.uniform(0.23, 0.3),
        "mouth_y": rng.uniform(0.52, 0.6),
        "lip_h": rng.uniform(0.035, 0.05),
        "age_lines": rng.uniform(0.0, 0.5),
        "beard": bool(rng.random() < 0.12),
        "bg": int(rng.integers(len(_BG))),
        "asym": float(asymmetry) * rng.uniform(0.5, 1.0) * (1 if rng.random() < 0.5 else -1),
    }


def render_human(
    size: int,
    identity: dict,
    aus,
    pose: dict,
    rng: np.random.Generator,
    *,
    mouth_open: float = 0.0,
    smile: float = 0.0,
    brow_raise: float = 0.0,
    style: dict | None = None,
):
    """Draw one human face.

    Args:
        size: Image side in pixels.
        identity: From :func:`human_identity`.
        aus: Intensities ``(AU4, AU6, AU7, AU9, AU10, AU43)``; 0–5, AU43 0–1.
        pose: ``yaw``, ``roll`` (degrees), ``scale``, ``dx``, ``dy`` (fractions of the image).
        rng: Generator for the nuisance factors.
        mouth_open, smile, brow_raise: Non-pain movements, 0–1.
        style: Optional overrides (``noise``, ``blur``, ``clutter``, ``light``, ``bg`` colour).

    Returns:
        ``(image uint8 [H, W, 3], masks {name: bool [H, W]}, keypoints {name: (x, y)})``.
    """
    style = style or {}
    a4, a6, a7, a9, a10, a43 = (float(a) for a in aus)
    a4, a6, a7, a9, a10 = (float(np.clip(a, 0, 5)) / 5.0 for a in (a4, a6, a7, a9, a10))
    a43 = float(np.clip(a43, 0, 1))
    skin, hair = identity["skin"], identity["hair"]
    fw, fh = identity["face_w"], identity["face_h"]
    radii = (fw, 1.12 * fh, 0.95)
    view = R.View.of_pose(size, pose, 3.1, 0.45)
    bg = style.get("bg", _BG[identity["bg"]])
    img = R.background(
        rng, size, bg, style.get("clutter", int(rng.integers(2, 8))), _BG + _CLOTH[:3]
    )
    masks = {k: np.zeros((size, size), np.uint8) for k in MASK_NAMES}
    asym = identity["asym"]
    dark = R.shade(skin, 0.72)

    R.fill(img, view.plane(R.ellipse(-0.2 * view.sy, 2.05, 1.75, 0.75, n=32)), identity["cloth"])
    R.fill(img, view.plane(R.ellipse(0.0, 1.2, 0.36 * fw / 0.85, 0.6, n=20)), R.shade(skin, 0.85))
    if identity["hair_style"] == "long":
        R.fill(img, view.plane(R.ellipse(0.12 * view.sy, 0.15, fw * 1.22, 1.5 * fh, n=32)), hair)
    for side in (-1, 1):
        p3, n3 = np.array([side * fw * 0.97, 0.05, -0.05]), np.array([side * 1.0, 0.0, 0.1])
        if view.facing(n3) > -0.6:
            R.fill(
                img,
                view.surface(p3, np.array([side * 0.3, 0, 0.95]), R.ellipse(0, 0, 0.1, 0.2, n=12)),
                R.shade(skin, 0.9),
            )

    # Face outline: the head ellipsoid's silhouette with a narrower jaw.
    hw = np.sqrt((radii[0] * view.cy) ** 2 + (radii[2] * view.sy) ** 2)
    outline = R.ellipse(0.0, 0.0, hw, radii[1], n=32)
    low = np.clip(outline[:, 1] / radii[1], 0, 1) ** 1.6
    outline[:, 0] *= 1.0 - (1.0 - identity["jaw"]) * low
    outline[:, 0] += 0.08 * view.sy * low
    outline[:, 1] += 0.05
    R.fill(img, view.plane(outline), skin)
    if identity["beard"]:
        beard = outline[outline[:, 1] > 0.45]
        R.fill(img, view.plane(np.vstack([beard, [[0.0, 0.5]]])), R.mix(skin, hair, 0.55))
    if identity["hair_style"] != "bald":
        # Hair cap: the top of the outline, slightly enlarged, down to a curved hairline.
        cap = R.ellipse(0.0, 0.0, hw * 1.05, radii[1] * 1.06, n=32)
        cap = cap[cap[:, 1] < -0.35 * radii[1]]
        cap = cap[np.argsort(np.arctan2(cap[:, 1], cap[:, 0]))]
        xs = np.linspace(cap[-1, 0], cap[0, 0], 9)
        hairline = -0.62 * radii[1] + 0.2 * (np.abs(xs - 0.25 * view.sy) / (hw + 1e-6)) ** 2
        cap = np.vstack([cap, np.stack([xs, hairline], 1)])
        cap[:, 1] += 0.05
        R.fill(img, view.plane(cap), hair)

    def on_face(x, y, lift=0.0):
        p3, n3 = R.ellipsoid_point(x, y, radii)
        return p3 + n3 * lift, n3

    # AU4 brow lowerer (and the non-pain brow raise).
    ey = identity["eye_y"]
    brow_y = ey - 0.19 - 0.06 * brow_raise
    for side in (-1, 1):
        droop = 0.05 * asym * side
        p3, n3 = on_face(side * 0.34, brow_y + droop)
        if view.facing(n3) < 0.1:
            continue
        g = identity["brow_gap"] - 0.045 * a4
        xs = np.linspace(g, 0.7, 7) - 0.34
        ys = (
            -0.05 * np.sin(np.linspace(0.3, np.pi, 7))
            + 0.08 * a4 * np.linspace(1, 0, 7) ** 1.5
            + 0.04 * a4
        )
        brow = view.surface(p3, n3, np.stack([side * (xs + 0.34) - side * 0.34, ys], 1))
        R.stroke(
            img, brow, R.mix(hair, dark, 0.3), identity["brow_th"] * view.scale * (1 + 0.3 * a4)
        )
    glab, gn = on_face(0.0, brow_y + 0.08)
    if a4 > 0.05:
        for dx in (-0.035, 0.035):
            line = view.surface(glab, gn, np.array([[dx, -0.07], [dx * 0.8, 0.04]]))
            R.stroke(
                img,
                line,
                R.mix(skin, dark, min(1.0, 0.4 + 0.8 * a4)),
                0.012 * view.scale * (0.5 + a4),
            )
    R.fill_mask(
        masks["au_4"],
        view.surface(
            glab, gn, np.array([[-0.66, -0.2], [0.66, -0.2], [0.66, 0.12], [-0.66, 0.12]])
        ),
    )

    # Eyes: AU7 narrows, AU6 raises the cheek/lower lid, AU43 closes.
    eyes = []
    ew, eh = identity["eye_w"], identity["eye_h"]
    aperture = max(0.0, (1.0 - 0.55 * a7 - 0.3 * a6) * (1.0 - a43) - 0.12 * smile)
    for side in (-1, 1):
        droop = 0.04 * asym * side
        p3, n3 = on_face(side * identity["eye_x"], ey + droop)
        eyes.append(view.project(p3)[0])
        R.fill_mask(
            masks["au_6_7"],
            view.surface(p3, n3, R.ellipse(0, 0.06, ew * 1.9, eh * 2.6 + 0.08, n=20)),
        )
        R.fill_mask(
            masks["au_43"], view.surface(p3, n3, R.ellipse(0, 0, ew * 1.25, eh * 1.6, n=20))
        )
        if view.facing(n3) < 0.15:
            continue
        x = np.linspace(-ew, ew, 9)
        env = 1 - (x / ew) ** 2
        hu = eh * (0.25 + 0.75 * aperture) * env
        hl = eh * (0.25 + 0.55 * aperture) * env
        R.fill(
            img,
            view.surface(p3, n3, R.ellipse(0, -0.005, ew * 1.25, eh * 1.5, n=20)),
            R.shade(skin, 0.9),
        )
        if aperture > 0.05:
            almond = R.band(x, -hu * aperture / max(aperture, 1e-3), hl * min(1.0, aperture * 1.5))
            almond[:, 1] = np.clip(almond[:, 1], -eh, eh)
            R.fill(img, view.surface(p3, n3, almond), (240, 236, 230))
            r = eh * 0.95 * min(1.0, 0.4 + aperture)
            R.fill(
                img,
                view.surface(p3, n3, R.ellipse(0, 0, r, r * min(1.0, aperture + 0.2), n=12)),
                identity["iris"],
            )
            R.fill(
                img,
                view.surface(
                    p3, n3, R.ellipse(0, 0, r * 0.45, r * 0.45 * min(1.0, aperture + 0.2), n=12)
                ),
                (15, 12, 10),
            )
        upper = view.surface(
            p3, n3, np.stack([x, -hu], 1) if aperture > 0.05 else np.stack([x, 0.25 * eh * env], 1)
        )
        R.stroke(img, upper, (35, 28, 25), 0.02 * view.scale)
        cheek = max(a6, 0.25 * smile)
        if cheek > 0.05:
            fold = view.surface(p3, n3, np.stack([x * 1.05, hl + eh * 0.9 - 0.02 * cheek], 1))
            R.stroke(
                img, fold, R.mix(skin, dark, 0.3 + 0.6 * cheek), 0.012 * view.scale * (1 + cheek)
            )
            for k in (-1, 0, 1):
                cf = view.surface(
                    p3,
                    n3,
                    np.array(
                        [
                            [side * ew * 1.15, 0.015 * k],
                            [side * ew * (1.3 + 0.35 * cheek), 0.05 * k - 0.005],
                        ]
                    ),
                )
                R.stroke(img, cf, R.mix(skin, dark, 0.2 + 0.7 * cheek), 0.01 * view.scale)
        if a7 > 0.05 and aperture > 0.05:
            lid = view.surface(p3, n3, np.stack([x, hl * min(1.0, aperture * 1.5) + 0.012], 1))
            R.stroke(img, lid, R.mix(skin, dark, 0.3 + 0.5 * a7), 0.012 * view.scale)

    # Nose: AU9 wrinkles the bridge and flares the nostrils.
    nl, nw = identity["nose_len"], identity["nose_w"]
    bridge_top, bn = on_face(0.0, ey + 0.02)
    tip, tn = on_face(0.0, ey + 0.02 + nl, lift=0.2)
    ridge = view.project(
        R.quad(bridge_top, (bridge_top + tip) / 2 + np.array([0.04, 0, 0.05]), tip, n=6)
    )
    R.stroke(img, ridge, R.mix(skin, dark, 0.25), 0.015 * view.scale)
    flare = 1.0 + 0.35 * a9
    nose_base = tip + np.array([0.0, -0.03 * a9 - 0.02 * a10, 0.0])
    R.fill(
        img,
        view.surface(nose_base, tn, R.ellipse(0, 0.0, nw * flare, 0.07, n=20)),
        R.shade(skin, 0.92),
    )
    for side in (-1, 1):
        R.fill(
            img,
            view.surface(
                nose_base, tn, R.ellipse(side * nw * 0.5 * flare, 0.035, 0.03 * flare, 0.018, n=12)
            ),
            R.shade(skin, 0.45),
        )
    if a9 > 0.05:
        for k in range(3):
            y = ey + 0.04 + 0.045 * k
            wp, wn = on_face(0.0, y, lift=0.04 + 0.04 * k)
            line = view.surface(wp, wn, np.array([[-0.07, 0.0], [0.0, -0.012], [0.07, 0.0]]))
            R.stroke(img, line, R.mix(skin, dark, 0.3 + 0.6 * a9), 0.01 * view.scale * (0.6 + a9))
    R.fill_mask(
        masks["au_9_10"],
        view.project(
            np.array(
                [
                    [-0.13, ey - 0.02, 0.95],
                    [0.13, ey - 0.02, 0.95],
                    [nw * 2.2 + 0.12, ey + nl + 0.05, 0.9],
                    [identity["mouth_w"] + 0.16, identity["mouth_y"] + 0.02, 0.75],
                    [identity["mouth_w"] * 0.6, identity["mouth_y"] + 0.16, 0.75],
                    [-identity["mouth_w"] * 0.6, identity["mouth_y"] + 0.16, 0.75],
                    [-identity["mouth_w"] - 0.16, identity["mouth_y"] + 0.02, 0.75],
                    [-nw * 2.2 - 0.12, ey + nl + 0.05, 0.9],
                ]
            )
        ),
    )

    # Nasolabial folds (AU10 and AU9 deepen them, a smile too).
    my, mw = identity["mouth_y"], identity["mouth_w"]
    fold = max(a10, 0.6 * a9, 0.7 * smile, identity["age_lines"] * 0.3)
    for side in (-1, 1):
        p0, _ = on_face(side * (nw + 0.05), ey + nl)
        p1, _ = on_face(side * (mw + 0.1), my + 0.02)
        ctrl = (p0 + p1) / 2 + np.array([side * 0.06, 0, 0.05])
        if view.facing(np.array([side * 0.4, 0, 0.9])) > 0.05 and fold > 0.05:
            R.stroke(
                img,
                view.project(R.quad(p0, ctrl, p1, n=6)),
                R.mix(skin, dark, 0.2 + 0.6 * fold),
                0.012 * view.scale * (0.5 + fold),
            )

    # Mouth: AU10 lifts the upper lip (teeth show); distractors open it or smile.
    mouth_c, mn = on_face(0.0, my)
    corners = []
    lift_l = 0.045 * a10
    gap = 0.03 * mouth_open + 0.4 * identity["lip_h"] * a10
    xm = np.linspace(-mw, mw, 9)
    env = 1 - (xm / mw) ** 2
    tilt = 0.04 * asym * xm / mw
    corner_up = -0.05 * smile + 0.01 * a10
    curve = corner_up * (1 - env) + tilt
    upper_top = curve - lift_l * env - identity["lip_h"] * env - gap * env * 0.3
    upper_bot = curve - lift_l * env * 0.8 - gap * env * 0.5
    lower_top = curve + gap * env * 1.2 + 0.12 * mouth_open * env
    lower_bot = lower_top + identity["lip_h"] * 1.3 * env + 0.01
    if gap > 0.005 or mouth_open > 0.02:
        R.fill(img, view.surface(mouth_c, mn, R.band(xm, upper_bot, lower_top)), (60, 25, 30))
        if a10 > 0.1:
            teeth = R.band(xm * 0.7, upper_bot * 0.95, upper_bot + 0.4 * (lower_top - upper_bot))
            R.fill(img, view.surface(mouth_c, mn, teeth), (235, 232, 220))
    R.fill(img, view.surface(mouth_c, mn, R.band(xm, upper_top, upper_bot)), identity["lip"])
    lower_lip = R.band(xm, lower_top, lower_bot)
    R.fill(img, view.surface(mouth_c, mn, lower_lip), R.shade(identity["lip"], 1.08))
    corners = view.surface(mouth_c, mn, np.array([[-mw, curve[0]], [mw, curve[-1]]]))

    out = R.finish(
        rng,
        img,
        style.get("light", (rng.uniform(0.95, 1.1), rng.uniform(0.0, 0.12))),
        style.get("light_dir", rng.uniform(0, 2 * np.pi)),
        style.get("blur", rng.uniform(0.0, 0.8)),
        style.get("noise", rng.uniform(2.0, 6.0)),
    )
    left, right = sorted(eyes, key=lambda p: p[0])
    ml, mr = sorted(list(corners), key=lambda p: p[0])
    kps = {
        "left_eye": left,
        "right_eye": right,
        "nose": view.project(nose_base)[0],
        "mouth_left": ml,
        "mouth_right": mr,
    }
    return out, {k: v.astype(bool) for k, v in masks.items()}, kps
