"""Video files: probing and decoding frames (fps resampling, resize, crop), writing H.264, synthetic clips with known motion."""

import lazy_loader

__getattr__, __dir__, __all__ = lazy_loader.attach(__name__, submod_attrs={
    "decode": ["VIDEO_EXTENSIONS", "VideoInfo", "FrameTransform", "I3D_FLOW_TRANSFORM", "probe_video", "iter_frames", "read_frame", "resampled_frame_count"],
    "writer": ["write_video"],
    "synthetic": ["make_demo_video", "demo_frames", "translating_frames", "make_texture"],
})
