"""Regenerates the golden images of golden.test.ts from an independent NumPy + matplotlib rendering.

The normalisation below follows Captum 0.8's `captum/attr/_utils/visualization.py` (`_normalize_attr`,
`_cumulative_sum_threshold`, `_prepare_image`); colours come from matplotlib's own colour maps with
`bytes=True`. Blending is `round(a * heat + (1 - a) * grey)`, the compositing rule @attribution/visualize
documents. Needs numpy, matplotlib and Pillow:  python3 generate.py
"""
import json
import pathlib

import matplotlib
import numpy as np
from matplotlib.colors import LinearSegmentedColormap, Normalize
from PIL import Image

here = pathlib.Path(__file__).parent
rng = np.random.default_rng(7)
C, H, W = 3, 12, 16
yy, xx = np.mgrid[0:H, 0:W]
# A smooth signed pattern plus noise, rounded to 6 decimals so JSON carries the exact same doubles.
attr = np.stack([np.sin(0.5 * xx + c) * np.cos(0.4 * yy - c) + 0.3 * rng.standard_normal((H, W)) for c in range(C)])
attr = np.round(attr, 6)
image = rng.integers(0, 256, size=(H, W, 3)).astype(np.uint8)
(here / "inputs.json").write_text(
    json.dumps({"attribution": {"shape": [C, H, W], "data": attr.ravel().tolist()},
                "image": {"shape": [H, W, 3], "data": image.ravel().tolist()}})
)


def cs_threshold(values, percentile):
    sorted_vals = np.sort(values.flatten())
    cum_sums = np.cumsum(sorted_vals)
    return sorted_vals[np.where(cum_sums >= cum_sums[-1] * 0.01 * percentile)[0][0]]


def normalize(attr_hwc, sign, outlier_perc=2):
    a = np.sum(attr_hwc, axis=2)
    if sign == "all":
        t = cs_threshold(np.abs(a), 100.0 - outlier_perc)
    elif sign == "positive":
        a = (a > 0) * a
        t = cs_threshold(a, 100.0 - outlier_perc)
    elif sign == "negative":
        a = (a < 0) * a
        t = -1 * cs_threshold(np.abs(a), 100.0 - outlier_perc)
    else:
        a = np.abs(a)
        t = cs_threshold(a, 100.0 - outlier_perc)
    return np.clip(a / t, -1, 1)


def save(name, rgba):
    Image.fromarray(rgba.astype(np.uint8), "RGBA").save(here / name)


attr_hwc = np.transpose(attr, (1, 2, 0))
cmaps = {
    "all": (LinearSegmentedColormap.from_list("RdWhGn", ["red", "white", "green"]), -1, 1),
    "absolute_value": (matplotlib.colormaps["Blues"], 0, 1),
    "positive": (matplotlib.colormaps["Greens"], 0, 1),
}

# heat_map, sign all
cmap, vmin, vmax = cmaps["all"]
save("heat-map-all.png", cmap(Normalize(vmin, vmax)(normalize(attr_hwc, "all")), bytes=True))

# blended_heat_map, sign absolute_value, alpha_overlay 0.5
cmap, vmin, vmax = cmaps["absolute_value"]
heat = cmap(Normalize(vmin, vmax)(normalize(attr_hwc, "absolute_value")), bytes=True).astype(float)
grey = matplotlib.colormaps["gray"](Normalize()(np.mean(image, axis=2)), bytes=True).astype(float)
a = 0.5 * heat[..., 3:4] / 255
out = np.floor(a * heat[..., :3] + (1 - a) * grey[..., :3] + 0.5)
save("blended-absolute.png", np.concatenate([out, np.full((H, W, 1), 255)], axis=2))

# alpha_scaling, sign positive
alpha = np.clip((normalize(attr_hwc, "positive") * 255).astype(int), 0, 255)
save("alpha-positive.png", np.concatenate([image, alpha[..., None]], axis=2))
