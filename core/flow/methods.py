"""The registry of optical-flow methods: each OpenCV algorithm with its parameters and defaults.

A method turns a parameter dict into a "pair function" `(frame_a, frame_b) -> [H, W, 2] float32`
(dx, dy in pixels). Pair functions hold OpenCV objects that are not thread-safe, so each worker
thread builds its own from the same parameters.

Defaults reproduce the raw OpenCV calls' mean end-point error on the eight Middlebury training pairs
(Farneback 1.08, DIS medium 0.60, TV-L1 0.92, DeepFlow 0.30, DenseRLOF 0.39); TV-L1 started
from DIS's flow (`tvl1_dis`) reaches 0.52.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

import cv2
import numpy as np

from core.common.values import as_type
from core.errors import FlowParameterError, UnknownFlowMethodError

PairFunction = Callable[[np.ndarray, np.ndarray], np.ndarray]
# [B, H, W] grey first frames, [B, H, W] grey second frames -> [B, H, W, 2] float32 flow, pixels.
BatchFunction = Callable[[np.ndarray, np.ndarray], np.ndarray]


@dataclass(frozen=True)
class FlowMethod:
    """One optical-flow algorithm.

    Attributes:
        name: registry key.
        description: one line with the reference.
        defaults: every tunable parameter with its default value (the type of the default is the
            parameter's type).
        build: parameters -> pair function.
        color: True if the algorithm needs `[H, W, 3] uint8` BGR frames, else `[H, W] uint8` grey.
        build_batch: for methods that compute many pairs at once (parameter `batch_size`):
            parameters -> batch function; `build` then computes one pair as a batch of one.
    """

    name: str
    description: str
    defaults: Mapping[str, Any]
    build: Callable[[Mapping[str, Any]], PairFunction]
    color: bool = False
    parameter_help: Mapping[str, str] = field(default_factory=dict)
    build_batch: Callable[[Mapping[str, Any]], BatchFunction] | None = None

    def resolve(self, overrides: Mapping[str, Any]) -> dict[str, Any]:
        """Defaults updated with `overrides`, each coerced to the default's type.

        Raises `FlowParameterError` naming the unknown parameter and the valid ones.
        """
        unknown = sorted(set(overrides) - set(self.defaults))
        if unknown:
            raise FlowParameterError(f"unknown parameter(s) {unknown} for flow method {self.name!r}; "
                             f"valid: {sorted(self.defaults)}")
        return {key: as_type(value, type(self.defaults[key]), f"parameter {key!r} of {self.name}")
                for key, value in {**self.defaults, **overrides}.items()}


FLOW_METHODS: dict[str, FlowMethod] = {}


def register(method: FlowMethod) -> FlowMethod:
    """Add `method` to the registry (names are unique)."""
    if method.name in FLOW_METHODS:
        raise FlowParameterError(f"flow method {method.name!r} is already registered")
    FLOW_METHODS[method.name] = method
    return method


def get_method(name: str) -> FlowMethod:
    """The registered method called `name`."""
    try:
        return FLOW_METHODS[name]
    except KeyError:
        raise UnknownFlowMethodError(f"unknown optical-flow method {name!r}; "
                                     f"choose one of {', '.join(FLOW_METHODS)}") from None


def _farneback(params: Mapping[str, Any]) -> PairFunction:
    return lambda a, b: cv2.calcOpticalFlowFarneback(a, b, None, **params)


register(FlowMethod(
    name="farneback",
    description="Gunnar Farneback's polynomial-expansion flow (SCIA 2003), cv2.calcOpticalFlowFarneback",
    defaults={"pyr_scale": 0.5, "levels": 3, "winsize": 15, "iterations": 3, "poly_n": 5,
              "poly_sigma": 1.1, "flags": 0},
    build=_farneback,
    parameter_help={"pyr_scale": "scale between pyramid levels (<1)", "levels": "pyramid levels",
                    "winsize": "averaging window (larger: smoother, more robust)",
                    "iterations": "iterations per level", "poly_n": "pixel neighbourhood (5 or 7)",
                    "poly_sigma": "Gaussian sigma for poly_n (1.1 for 5, 1.5 for 7)",
                    "flags": "cv2.OPTFLOW_FARNEBACK_GAUSSIAN (256) for a Gaussian window"},
))

_DIS_PRESETS = {"ultrafast": cv2.DISOPTICAL_FLOW_PRESET_ULTRAFAST,
                "fast": cv2.DISOPTICAL_FLOW_PRESET_FAST,
                "medium": cv2.DISOPTICAL_FLOW_PRESET_MEDIUM}
# DIS setters; -1 (or -1.0) means "keep the preset's value".
_DIS_SETTERS = {"finest_scale": "setFinestScale", "patch_size": "setPatchSize",
                "patch_stride": "setPatchStride",
                "gradient_descent_iterations": "setGradientDescentIterations",
                "variational_refinement_iterations": "setVariationalRefinementIterations",
                "variational_refinement_alpha": "setVariationalRefinementAlpha",
                "variational_refinement_delta": "setVariationalRefinementDelta",
                "variational_refinement_gamma": "setVariationalRefinementGamma"}


def _dis(params: Mapping[str, Any]) -> PairFunction:
    if params["preset"] not in _DIS_PRESETS:
        raise FlowParameterError(f"DIS preset must be one of {sorted(_DIS_PRESETS)}, got {params['preset']!r}")
    dis = cv2.DISOpticalFlow_create(_DIS_PRESETS[params["preset"]])
    for key, setter in _DIS_SETTERS.items():
        if params[key] != -1:
            getattr(dis, setter)(params[key])
    dis.setUseMeanNormalization(params["use_mean_normalization"])
    dis.setUseSpatialPropagation(params["use_spatial_propagation"])
    return lambda a, b: dis.calc(a, b, None)


DIS_DEFAULTS = {"preset": "medium", "finest_scale": -1, "patch_size": -1, "patch_stride": -1,
                "gradient_descent_iterations": -1, "variational_refinement_iterations": -1,
                "variational_refinement_alpha": -1.0, "variational_refinement_delta": -1.0,
                "variational_refinement_gamma": -1.0, "use_mean_normalization": True,
                "use_spatial_propagation": True}

register(FlowMethod(
    name="dis",
    description="Dense Inverse Search (Kroeger et al., ECCV 2016), cv2.DISOpticalFlow",
    defaults=DIS_DEFAULTS,
    build=_dis,
    parameter_help={"preset": "ultrafast | fast | medium", **{key: "-1 keeps the preset's value"
                                                                 for key in _DIS_SETTERS}},
))


def _dual_tvl1(params: Mapping[str, Any], use_initial_flow: bool):
    """OpenCV's DualTVL1 with the TV-L1 `params` (OpenCV spells inner iterations with three n's)."""
    return cv2.optflow.DualTVL1OpticalFlow_create(
        tau=params["tau"], lambda_=params["lambda_"], theta=params["theta"],
        nscales=params["nscales"], warps=params["warps"], epsilon=params["epsilon"],
        innnerIterations=params["inner_iterations"], outerIterations=params["outer_iterations"],
        scaleStep=params["scale_step"], gamma=params["gamma"],
        medianFiltering=params["median_filtering"], useInitialFlow=use_initial_flow)


def _tvl1(params: Mapping[str, Any]) -> PairFunction:
    tvl1 = _dual_tvl1(params, use_initial_flow=False)
    return lambda a, b: tvl1.calc(a, b, None)


# OpenCV's DualTVL1 defaults, shared by `tvl1` and `tvl1_tf` (which has no gamma term).
TVL1_DEFAULTS = {"tau": 0.25, "lambda_": 0.15, "theta": 0.3, "nscales": 5, "warps": 5, "epsilon": 0.01,
                 "inner_iterations": 30, "outer_iterations": 10, "scale_step": 0.8, "gamma": 0.0,
                 "median_filtering": 5}

register(FlowMethod(
    name="tvl1",
    description="Dual TV-L1 (Zach et al. 2007; Wedel et al. 2009), the I3D standard, "
                "cv2.optflow.DualTVL1OpticalFlow",
    defaults=TVL1_DEFAULTS,
    build=_tvl1,
    parameter_help={"tau": "time step of the numerical scheme", "lambda_": "data-term weight "
                    "(smaller: smoother flow)", "theta": "tightness of the coupling",
                    "nscales": "pyramid scales", "warps": "warpings per scale",
                    "epsilon": "stopping threshold", "scale_step": "pyramid scale step"},
))


def _tvl1_dis(params: Mapping[str, Any]) -> PairFunction:
    start = _dis({**DIS_DEFAULTS, "preset": params["dis_preset"]})
    tvl1 = _dual_tvl1(params, use_initial_flow=True)
    return lambda a, b: tvl1.calc(a, b, start(a, b))


register(FlowMethod(
    name="tvl1_dis",
    description="Dual TV-L1 started from DIS's flow instead of a coarse-to-fine pyramid from zero: by "
                "default one scale and one warp, ~4x faster than tvl1 (benchmarks/tvl1_parameters.py)",
    defaults={**TVL1_DEFAULTS, "nscales": 1, "warps": 1, "dis_preset": "medium"},
    build=_tvl1_dis,
    parameter_help={"dis_preset": "DIS preset of the starting flow: ultrafast | fast | medium",
                    "nscales": "pyramid scales refined from DIS's flow", "warps": "warpings per scale",
                    "epsilon": "stopping threshold"},
))


def _tvl1_tf(params: Mapping[str, Any]) -> BatchFunction:
    from core.flow.tvl1 import TVL1Parameters, tvl1_flow  # TensorFlow loads only when this method is used

    settings = TVL1Parameters(**{k: v for k, v in params.items() if k != "batch_size"})
    return lambda first, second: tvl1_flow(first, second, settings)


register(FlowMethod(
    name="tvl1_tf",
    description="Dual TV-L1 as OpenCV's DualTVL1 computes it, written in TensorFlow and batched over "
                "frame pairs (runs on a GPU when TensorFlow sees one; core.flow.tvl1)",
    defaults={**{key: value for key, value in TVL1_DEFAULTS.items() if key != "gamma"}, "batch_size": 8},
    build=lambda params: (lambda a, b, batch=_tvl1_tf(params): batch(a[None], b[None])[0]),
    build_batch=_tvl1_tf,
    parameter_help={"batch_size": "frame pairs computed at once", "epsilon": "stopping threshold",
                    "nscales": "pyramid scales", "warps": "warpings per scale"},
))


def _deepflow(params: Mapping[str, Any]) -> PairFunction:
    deepflow = cv2.optflow.createOptFlow_DeepFlow()
    return lambda a, b: deepflow.calc(a, b, None)


register(FlowMethod(
    name="deepflow",
    description="DeepFlow (Weinzaepfel et al., ICCV 2013), cv2.optflow.createOptFlow_DeepFlow; "
                "OpenCV's Python binding exposes no parameters for it",
    defaults={},
    build=_deepflow,
))

_RLOF_INTERPOLATIONS = {"geo": cv2.optflow.INTERP_GEO, "epic": cv2.optflow.INTERP_EPIC,
                        "ric": cv2.optflow.INTERP_RIC}


def _rlof(params: Mapping[str, Any]) -> PairFunction:
    if params["interpolation"] not in _RLOF_INTERPOLATIONS:
        raise FlowParameterError(f"RLOF interpolation must be one of {sorted(_RLOF_INTERPOLATIONS)}")
    grid = (params["grid_step"], params["grid_step"])
    rlof = cv2.optflow.DenseRLOFOpticalFlow_create(
        forwardBackwardThreshold=params["forward_backward_threshold"], gridStep=grid,
        interp_type=_RLOF_INTERPOLATIONS[params["interpolation"]], epicK=params["epic_k"],
        epicSigma=params["epic_sigma"], epicLambda=params["epic_lambda"],
        ricSPSize=params["ric_sp_size"], ricSLICType=params["ric_slic_type"],
        use_post_proc=params["use_post_proc"], fgsLambda=params["fgs_lambda"],
        fgsSigma=params["fgs_sigma"],
        use_variational_refinement=params["use_variational_refinement"])
    return lambda a, b: rlof.calc(a, b, None)


register(FlowMethod(
    name="rlof",
    description="Dense robust local optical flow (Senst et al. 2012-2016; Geistert et al. 2016), "
                "cv2.optflow.DenseRLOFOpticalFlow",
    defaults={"forward_backward_threshold": 1.0, "grid_step": 6, "interpolation": "epic",
              "epic_k": 128, "epic_sigma": 0.05, "epic_lambda": 999.0, "ric_sp_size": 15,
              "ric_slic_type": 100, "use_post_proc": True, "fgs_lambda": 500.0, "fgs_sigma": 1.5,
              "use_variational_refinement": False},
    build=_rlof,
    color=True,
    parameter_help={"grid_step": "spacing of the sparse motion vectors (pixels)",
                    "interpolation": "geo | epic | ric (sparse-to-dense)",
                    "forward_backward_threshold": "drop vectors whose forward-backward error exceeds "
                    "this (0 disables, halves the cost)"},
))
