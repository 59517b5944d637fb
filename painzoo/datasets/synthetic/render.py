"""Small 2.5-D drawing kit shared by the rat and human renderers.

A face lives in *head units*: origin at the head centre, x right, y down, z towards the camera,
head half-width about 1. A :class:`View` turns head units into pixels: yaw about the vertical axis
(which hides far-side features), then roll, scale and shift in the image plane. Shapes are polygons
drawn with OpenCV's anti-aliased ``fillPoly``/``polylines`` at 1/16-pixel precision.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

SHIFT = 4
_ONE = float(1 << SHIFT)
_ANGLES: dict[int, np.ndarray] = {}
_QUAD: dict[int, np.ndarray] = {}


def _ipts(points: np.ndarray) -> np.ndarray:
    return np.round(points * _ONE).astype(np.int32)


def fill(image: np.ndarray, points: np.ndarray, color) -> None:
    """Fill one polygon (pixels ``[n, 2]``) anti-aliased."""
    cv2.fillPoly(image, [_ipts(points)], color, cv2.LINE_AA, SHIFT)


def stroke(
    image: np.ndarray, points: np.ndarray, color, thickness: float, closed: bool = False
) -> None:
    """Draw a polyline anti-aliased; thickness in pixels (at least 1)."""
    t = max(1, int(round(thickness)))
    cv2.polylines(image, [_ipts(points)], closed, color, t, cv2.LINE_AA, SHIFT)


def fill_mask(mask: np.ndarray, points: np.ndarray) -> None:
    """Mark a polygon in a uint8 mask (no anti-aliasing: masks stay binary)."""
    cv2.fillPoly(mask, [_ipts(points)], 1, cv2.LINE_8, SHIFT)


def stroke_mask(mask: np.ndarray, points: np.ndarray, thickness: float) -> None:
    """Mark a thick polyline in a uint8 mask."""
    cv2.polylines(
        mask, [_ipts(points)], False, 1, max(1, int(round(thickness))), cv2.LINE_8, SHIFT
    )


def ellipse(
    cx: float, cy: float, ax: float, ay: float, angle: float = 0.0, n: int = 20
) -> np.ndarray:
    """Points ``[n, 2]`` of an ellipse with semi-axes ``ax``, ``ay``, rotated by ``angle`` rad."""
    if n not in _ANGLES:
        t = np.linspace(0.0, 2.0 * np.pi, n, endpoint=False)
        _ANGLES[n] = np.stack([np.cos(t), np.sin(t)], axis=1)
    c, s = math.cos(angle), math.sin(angle)
    m = np.array([[ax * c, ax * s], [-ay * s, ay * c]])
    return _ANGLES[n] @ m + np.array([cx, cy])


def arc(cx, cy, ax, ay, t0, t1, n=10, angle=0.0) -> np.ndarray:
    """Points of an elliptic arc from angle ``t0`` to ``t1`` (rad)."""
    t = np.linspace(t0, t1, n)
    x, y = ax * np.cos(t), ay * np.sin(t)
    c, s = np.cos(angle), np.sin(angle)
    return np.stack([cx + c * x - s * y, cy + s * x + c * y], axis=1)


def band(x, top, bottom) -> np.ndarray:
    """Outline of the strip between two curves over ``x``: along ``top``, back along ``bottom``."""
    return np.concatenate([np.stack([x, top], 1), np.stack([x[::-1], bottom[::-1]], 1)])


def quad(p0, p1, p2, n: int = 8) -> np.ndarray:
    """Points of a quadratic Bézier curve through control points ``p0, p1, p2``."""
    basis = _QUAD.get(n)
    if basis is None:
        t = np.linspace(0.0, 1.0, n)
        basis = _QUAD[n] = np.stack([(1 - t) ** 2, 2 * (1 - t) * t, t**2], axis=1)
    return basis @ np.array([p0, p1, p2], float)


class View:
    """Camera for one image: head units → pixels.

    Args:
        size: Image side in pixels.
        yaw: Head turn in degrees (positive turns the face to the image's right).
        roll: In-plane tilt in degrees.
        scale: Pixels per head unit.
        center: Pixel position of the head centre.
    """

    def __init__(self, size: int, yaw: float, roll: float, scale: float, center):
        self.size = size
        self.yaw = math.radians(yaw)
        self.cy, self.sy = math.cos(self.yaw), math.sin(self.yaw)
        r = math.radians(roll)
        self.cr, self.sr = math.cos(r), math.sin(r)
        self.scale = scale
        self.center = np.asarray(center, float)
        # Row-vector matrices: yaw (3-D → image plane) then roll and scale.
        self._plane = np.array([[self.cr, self.sr], [-self.sr, self.cr]]) * scale
        yaw_m = np.array([[self.cy, 0.0], [0.0, 1.0], [self.sy, 0.0]])
        self._m3 = yaw_m @ self._plane

    @classmethod
    def of_pose(cls, size: int, pose: dict, head: float, center_y: float) -> View:
        """The camera of a pose (``yaw``, ``roll``, ``scale``, ``dx``, ``dy``).

        ``head`` is the image side in head units at scale 1, ``center_y`` the
        head centre's height in image sides before the ``dy`` shift.
        """
        center = (size * (0.5 + pose["dx"]), size * (center_y + pose["dy"]))
        return cls(size, pose["yaw"], pose["roll"], pose["scale"] * size / head, center)

    def project(self, p3: np.ndarray) -> np.ndarray:
        """Head-unit points ``[n, 3]`` → pixels ``[n, 2]``."""
        return np.asarray(p3, float).reshape(-1, 3) @ self._m3 + self.center

    def plane(self, p2: np.ndarray) -> np.ndarray:
        """Points already in the (yawed) image plane, head units ``[n, 2]`` → pixels (roll, scale, shift)."""
        return p2 @ self._plane + self.center

    def facing(self, normal) -> float:
        """How much a surface with this (unit) normal faces the camera after yaw (cosine)."""
        return -normal[0] * self.sy + normal[2] * self.cy

    def silhouette(self, center3, radii, n: int = 32) -> np.ndarray:
        """Pixel outline of an ellipsoid (rotation about the vertical axis only)."""
        cx = center3[0] * self.cy + center3[2] * self.sy
        half_w = math.sqrt((radii[0] * self.cy) ** 2 + (radii[2] * self.sy) ** 2)
        return self.plane(ellipse(cx, center3[1], half_w, radii[1], n=n))

    def surface(self, anchor, normal, shape2d: np.ndarray) -> np.ndarray:
        """Lay a flat 2-D shape (head units, tangent plane at ``anchor``) on the head and project it."""
        nx, nz = float(normal[0]), float(normal[2])
        k = 1.0 / (math.hypot(nx, nz) + 1e-9)
        basis = np.array([[nz * k, 0.0, -nx * k], [0.0, 1.0, 0.0]]) @ self._m3
        origin = np.asarray(anchor, float) @ self._m3 + self.center
        return shape2d @ basis + origin


def ellipsoid_point(x: float, y: float, radii=(1.0, 1.0, 1.0)):
    """A point on the front of an ellipsoid at (x, y) and its unit normal."""
    a, b, c = radii
    z = c * math.sqrt(max(0.0, 1.0 - (x / a) ** 2 - (y / b) ** 2))
    nx, ny, nz = x / a**2, y / b**2, z / c**2
    k = 1.0 / (math.sqrt(nx * nx + ny * ny + nz * nz) + 1e-9)
    return np.array([x, y, z]), np.array([nx * k, ny * k, nz * k])


def shade(color, factor: float):
    """Scale an RGB colour, clipped to 0..255."""
    return tuple(float(min(255.0, max(0.0, c * factor))) for c in color)


def mix(a, b, t: float):
    """Blend two RGB colours."""
    return tuple(float((1 - t) * x + t * y) for x, y in zip(a, b))


_NOISE_BANK: np.ndarray | None = None


def _noise_bank() -> np.ndarray:
    # One fixed Gaussian field cropped at random offsets: cheaper than fresh noise, deterministic.
    global _NOISE_BANK
    if _NOISE_BANK is None:
        g = np.random.default_rng(20250101).normal(0.0, 40.0, size=(512, 512, 3))
        _NOISE_BANK = np.clip(g + 128.0, 0, 255).astype(np.uint8)
    return _NOISE_BANK


def background(rng: np.random.Generator, size: int, base, clutter: int, palette) -> np.ndarray:
    """A clutter background: a tinted gradient with blurred blobs and bars."""
    low = np.empty((2, 2, 3), np.float32)
    for i in range(2):
        for j in range(2):
            low[i, j] = shade(base, rng.uniform(0.75, 1.15))
    img = cv2.resize(low, (size, size), interpolation=cv2.INTER_LINEAR).astype(np.uint8)
    for _ in range(clutter):
        col = palette[rng.integers(len(palette))]
        col = shade(col, rng.uniform(0.7, 1.2))
        kind = rng.random()
        if kind < 0.5:
            c = rng.uniform(0, size, 2)
            pts = ellipse(
                c[0],
                c[1],
                rng.uniform(0.03, 0.2) * size,
                rng.uniform(0.03, 0.2) * size,
                rng.uniform(0, np.pi),
            )
            fill(img, pts, col)
        else:
            p0 = rng.uniform(-0.1, 1.1, 2) * size
            p1 = p0 + rng.normal(0, 0.6, 2) * size
            stroke(img, np.stack([p0, p1]), col, rng.uniform(0.01, 0.05) * size)
    k = max(3, (size // 20) | 1)
    return cv2.GaussianBlur(img, (k, k), 0)


def finish(
    rng: np.random.Generator,
    img: np.ndarray,
    light_gain,
    light_dir: float,
    blur: float,
    noise: float,
) -> np.ndarray:
    """Lighting gradient, blur and sensor noise, all in uint8."""
    size = img.shape[0]
    g0, g1 = light_gain
    d = np.array([np.cos(light_dir), np.sin(light_dir)])
    corners = np.array([[-1, -1], [1, -1], [-1, 1], [1, 1]], float) @ d
    gain = g0 + g1 * corners
    low = np.clip(gain.reshape(2, 2, 1) * np.ones((1, 1, 3)) * 128.0, 0, 255).astype(np.float32)
    low *= np.asarray(rng.uniform(0.93, 1.07, 3), np.float32)
    light = cv2.resize(low, (size, size), interpolation=cv2.INTER_LINEAR)
    out = cv2.multiply(img, light.astype(np.uint8), scale=1.0 / 128.0)
    if blur > 0.3:
        out = cv2.GaussianBlur(out, (0, 0), blur)
    if noise > 0:
        bank = _noise_bank()
        oy, ox = rng.integers(0, bank.shape[0] - size, 2)
        patch = bank[oy : oy + size, ox : ox + size]
        out = cv2.addWeighted(out, 1.0, patch, noise / 40.0, -128.0 * noise / 40.0)
    return out
