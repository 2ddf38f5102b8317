"""TV-L1 optical flow in TensorFlow, batched over frame pairs: runs where the model runs (a GPU when
TensorFlow sees one, vectorised on the CPU otherwise).

The dual TV-L1 scheme of Zach, Pock and Bischof ("A duality based approach for realtime TV-L1
optical flow", DAGM 2007), as described by Sánchez, Meinhardt-Llopis and Facciolo ("TV-L1 optical
flow estimation", IPOL 2013) and computed by OpenCV's `cv2.optflow.DualTVL1OpticalFlow`, with the same
parameters and the same numerical choices, so the two agree (`tests/test_tvl1.py`):
- images as float 0..255; a pyramid of `nscales` levels, each `scale_step` times the one before
  (bilinear), levels smaller than 16 pixels dropped; coarse to fine, the flow resized (bilinear)
  and scaled by 1 / `scale_step` to the next level;
- per level, `warps` warpings of the second image and its centred gradient by the current flow
  (bicubic, a = -0.75, zero outside the image); per warping up to `outer_iterations` x
  `inner_iterations` iterations of: thresholding (v), primal step (u = v + theta div p), forward
  gradient and dual step (p); a 5x5 median filter on u before each run of inner iterations;
  a pair stops iterating within a warping once the squared change of its flow, summed over the
  image, falls to epsilon^2 x the image's area (the other pairs of the batch go on).

Frames: `[B, H, W]` grey (uint8 0..255, or float 0..1 as OpenCV takes them); flow `[B, H, W, 2]
float32`, (dx, dy) in pixels from the first frame to the second.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import tensorflow as tf

from core.flow.methods import TVL1_DEFAULTS

MIN_LEVEL_SIZE = 16  # pixels: coarser pyramid levels are not used
_CUBIC_A = -0.75  # OpenCV's bicubic kernel


@dataclass(frozen=True)
class TVL1Parameters:
    """OpenCV's DualTVL1 parameters but gamma (see `core.flow.methods.TVL1_DEFAULTS` and the
    method's parameter help); `opencv_defaults()` gives OpenCV's values."""

    tau: float
    lambda_: float
    theta: float
    nscales: int
    warps: int
    epsilon: float
    inner_iterations: int
    outer_iterations: int
    scale_step: float
    median_filtering: int

    @classmethod
    def opencv_defaults(cls) -> "TVL1Parameters":
        return cls(**{key: value for key, value in TVL1_DEFAULTS.items() if key != "gamma"})


def tvl1_flow(first: np.ndarray, second: np.ndarray, params: TVL1Parameters | None = None) -> np.ndarray:
    """Flow from each frame of `first` to the same frame of `second`: `[B, H, W]` (or one `[H, W]`)
    grey frames -> `[B, H, W, 2]` (or `[H, W, 2]`) float32, pixels. `params`: OpenCV's defaults
    when None."""
    params = params or TVL1Parameters.opencv_defaults()
    single = np.ndim(first) == 2
    i0, i1 = (_as_intensity(np.asarray(frames)[None] if single else np.asarray(frames)) for frames in (first, second))
    levels = _pyramid_sizes(i0.shape[1:3], params)
    pyramid0, pyramid1 = [i0], [i1]
    for size in levels[1:]:
        pyramid0.append(tf.image.resize(pyramid0[-1][..., None], size, "bilinear")[..., 0])
        pyramid1.append(tf.image.resize(pyramid1[-1][..., None], size, "bilinear")[..., 0])
    flow = tf.zeros([*pyramid0[-1].shape, 2], tf.float32)
    constants = _constants(params)
    for level in reversed(range(len(levels))):
        if level < len(levels) - 1:
            flow = tf.image.resize(flow, levels[level], "bilinear") / params.scale_step
        flow = _one_level(pyramid0[level], pyramid1[level], flow, *constants)
    flow = flow.numpy()
    return flow[0] if single else flow


def _as_intensity(frames: np.ndarray) -> tf.Tensor:
    """Grey frames as float32 0..255, as OpenCV scales them (uint8 as is, float x 255)."""
    scale = 1.0 if frames.dtype == np.uint8 else 255.0
    return tf.constant(frames.astype(np.float32) * scale)


def _pyramid_sizes(size: tuple[int, int], params: TVL1Parameters) -> list[tuple[int, int]]:
    """(height, width) of each level, finest first; sizes round as OpenCV's `resize` does."""
    sizes = [tuple(size)]
    for _ in range(1, params.nscales):
        height, width = (int(round(side * params.scale_step)) for side in sizes[-1])
        if height < MIN_LEVEL_SIZE or width < MIN_LEVEL_SIZE:
            break
        sizes.append((height, width))
    return sizes


def _constants(params: TVL1Parameters) -> tuple:
    return (tf.constant(params.lambda_ * params.theta), tf.constant(params.tau / params.theta),
            tf.constant(params.theta), tf.constant(params.epsilon ** 2), params.warps,
            tf.constant(params.outer_iterations), tf.constant(params.inner_iterations), params.median_filtering)


@tf.function(reduce_retracing=True)
def _one_level(i0, i1, flow, l_t, taut, theta, epsilon_squared, warps: int, outer, inner, median: int):
    """TV-L1 on one pyramid level: `[B, H, W]` images, `[B, H, W, 2]` initial flow -> refined flow."""
    i1x, i1y = _centred_gradient(i1)
    stop = epsilon_squared * tf.cast(tf.shape(i0)[1] * tf.shape(i0)[2], tf.float32)
    dual = tf.zeros([*tf.unstack(tf.shape(i0)), 4])  # (p11, p12, p21, p22), reset once per level
    for _ in tf.range(warps):
        warped, warped_x, warped_y = _warp([i1, i1x, i1y], flow)
        gradient = tf.stack([warped_x, warped_y], axis=-1)
        grad = warped_x ** 2 + warped_y ** 2
        rho_c = warped - warped_x * flow[..., 0] - warped_y * flow[..., 1] - i0
        error = tf.fill(tf.shape(i0)[:1], np.float32(np.finfo(np.float32).max))
        n_outer = tf.constant(0)
        while n_outer < outer and tf.reduce_any(error > stop):
            active = (error > stop)[:, None, None, None]
            if median > 1:
                flow = tf.where(active, _median(flow, median), flow)
            n_inner = tf.constant(0)
            while n_inner < inner and tf.reduce_any(error > stop):
                active = (error > stop)[:, None, None, None]
                new_flow, new_dual, change = _iteration(flow, dual, gradient, grad, rho_c, l_t, taut, theta)
                flow = tf.where(active, new_flow, flow)
                dual = tf.where(active, new_dual, dual)
                error = tf.where(error > stop, change, error)
                n_inner += 1
            n_outer += 1
    return flow


def _iteration(flow, dual, gradient, grad, rho_c, l_t, taut, theta):
    """One inner iteration: thresholding, primal and dual steps; returns (flow, dual, squared change)."""
    rho = rho_c + tf.reduce_sum(gradient * flow, axis=-1)
    step = tf.where((rho < -l_t * grad)[..., None], l_t * gradient,
                    tf.where((rho > l_t * grad)[..., None], -l_t * gradient,
                             tf.where((grad > np.finfo(np.float32).eps)[..., None],
                                      (-rho / tf.maximum(grad, np.finfo(np.float32).eps))[..., None] * gradient,
                                      tf.zeros_like(gradient))))
    v = flow + step
    divergence = tf.stack([_divergence(dual[..., 0], dual[..., 1]), _divergence(dual[..., 2], dual[..., 3])], -1)
    new_flow = v + theta * divergence
    change = tf.reduce_sum((new_flow - flow) ** 2, axis=[1, 2, 3])
    u1x, u1y = _forward_gradient(new_flow[..., 0])
    u2x, u2y = _forward_gradient(new_flow[..., 1])
    norm1 = 1 + taut * tf.sqrt(u1x ** 2 + u1y ** 2)
    norm2 = 1 + taut * tf.sqrt(u2x ** 2 + u2y ** 2)
    new_dual = tf.stack([(dual[..., 0] + taut * u1x) / norm1, (dual[..., 1] + taut * u1y) / norm1,
                         (dual[..., 2] + taut * u2x) / norm2, (dual[..., 3] + taut * u2y) / norm2], -1)
    return new_flow, new_dual, change


def _pad_edge(image, radius: int):
    """`[B, H, W, ...]` padded by `radius` on both spatial axes, repeating the edge pixels."""
    rows = tf.concat([tf.repeat(image[:, :1], radius, 1), image, tf.repeat(image[:, -1:], radius, 1)], 1)
    return tf.concat([tf.repeat(rows[:, :, :1], radius, 2), rows, tf.repeat(rows[:, :, -1:], radius, 2)], 2)


def _centred_gradient(image):
    """(d/dx, d/dy) of `[B, H, W]`: central differences, one-sided (halved) at the borders."""
    padded = _pad_edge(image, 1)
    return (0.5 * (padded[:, 1:-1, 2:] - padded[:, 1:-1, :-2]), 0.5 * (padded[:, 2:, 1:-1] - padded[:, :-2, 1:-1]))


def _forward_gradient(image):
    """(d/dx, d/dy) of `[B, H, W]`: forward differences, 0 past the last column / row."""
    dx = tf.concat([image[:, :, 1:] - image[:, :, :-1], tf.zeros_like(image[:, :, :1])], 2)
    dy = tf.concat([image[:, 1:] - image[:, :-1], tf.zeros_like(image[:, :1])], 1)
    return dx, dy


def _divergence(px, py):
    """Backward-difference divergence of the field (px, py), `[B, H, W]`, zero before the first pixel."""
    return (px - tf.concat([tf.zeros_like(px[:, :, :1]), px[:, :, :-1]], 2)
            + py - tf.concat([tf.zeros_like(py[:, :1]), py[:, :-1]], 1))


def _median(flow, size: int):
    """Each channel of `[B, H, W, 2]` median-filtered over `size x size` windows (edges repeated)."""
    radius = size // 2
    padded = _pad_edge(flow, radius)
    height, width = tf.shape(flow)[1], tf.shape(flow)[2]
    shifted = [padded[:, dy:dy + height, dx:dx + width] for dy in range(size) for dx in range(size)]
    return tf.sort(tf.stack(shifted, axis=-1), axis=-1)[..., size * size // 2]


def _cubic_weights(fraction):
    """OpenCV's bicubic weights of the 4 samples at offsets -1, 0, 1, 2 for a `fraction` in [0, 1)."""
    a = _CUBIC_A
    x = fraction + 1
    w0 = ((a * x - 5 * a) * x + 8 * a) * x - 4 * a
    w1 = ((a + 2) * fraction - (a + 3)) * fraction * fraction + 1
    rest = 1 - fraction
    w2 = ((a + 2) * rest - (a + 3)) * rest * rest + 1
    return [w0, w1, w2, 1 - w0 - w1 - w2]


def _warp(images, flow):
    """Each `[B, H, W]` image sampled at (x + dx, y + dy) (bicubic, zero outside the image)."""
    batch, height, width = tf.unstack(tf.shape(images[0]))
    ys, xs = tf.meshgrid(tf.range(height, dtype=tf.float32), tf.range(width, dtype=tf.float32), indexing="ij")
    x = xs + flow[..., 0]
    y = ys + flow[..., 1]
    x0, y0 = tf.floor(x), tf.floor(y)
    wx, wy = _cubic_weights(x - x0), _cubic_weights(y - y0)
    flats = [tf.reshape(image, [batch, -1]) for image in images]
    results = [tf.zeros_like(images[0]) for _ in images]
    for j in range(4):
        row = y0 + (j - 1)
        row_ok = (row >= 0) & (row <= tf.cast(height - 1, tf.float32))
        for i in range(4):
            col = x0 + (i - 1)
            inside = row_ok & (col >= 0) & (col <= tf.cast(width - 1, tf.float32))
            index = tf.cast(tf.clip_by_value(row, 0, tf.cast(height - 1, tf.float32)), tf.int32) * width + \
                tf.cast(tf.clip_by_value(col, 0, tf.cast(width - 1, tf.float32)), tf.int32)
            weight = tf.where(inside, wy[j] * wx[i], 0.0)
            flat_index = tf.reshape(index, [batch, -1])
            for k, flat in enumerate(flats):
                results[k] += weight * tf.reshape(tf.gather(flat, flat_index, batch_dims=1), tf.shape(weight))
    return results
