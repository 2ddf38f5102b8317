"""What every package uses: atomic files, one file lock, UTC time, progress callbacks, the project's paths, process set-up."""

import lazy_loader

__getattr__, __dir__, __all__ = lazy_loader.attach(__name__, submod_attrs={
    "atomic": ["atomic_path", "write_json_atomic", "save_npy_atomic", "sha256_of"],
    "clock": ["utc_iso", "utc_stamp"],
    "locking": ["LockBusyError", "file_lock"],
    "paths": ["PROJECT_ROOT", "CONFIG_DIR", "ASSETS_DIR"],
    "process": ["available_cpus", "configure_process"],
    "progress": ["ProgressCallback", "TqdmProgress", "no_progress"],
})
