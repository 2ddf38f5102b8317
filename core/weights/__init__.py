"""Every source of pretrained I3D arrays: Kinetics-400 RGB, published checkpoints, torch files, flow-stream initialisations."""

import lazy_loader

__getattr__, __dir__, __all__ = lazy_loader.attach(__name__, submod_attrs={
    "kinetics": ["WEIGHTS_DIR", "WeightsError", "kinetics400_rgb_model", "convert_kinetics400_rgb", "assign_weights"],
    "checkpoint": ["load_checkpoint_arrays", "read_checkpoint"],
    "torch_file": ["read_torch_zip", "read_torch_legacy"],
    "sources": ["WEIGHT_SOURCES"],
    "flow_stream": ["build_flow_i3d", "cross_modal_arrays", "read_motion_adapted_metrics", "read_weights_metrics"],
})
