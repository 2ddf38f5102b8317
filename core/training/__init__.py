"""Training the flow stream: AdaBN and upper-block training, fine-tuning, generated motion datasets, the default weights."""

import lazy_loader

__getattr__, __dir__, __all__ = lazy_loader.attach(__name__, submod_attrs={
    "adaptation": ["adapt_batchnorm", "train_upper_blocks"],
    "fine_tune": ["TrainingConfig", "fine_tune"],
    "motion_dataset": ["MOTIONS", "write_motion_dataset"],
    "motion_adapted": ["prepare_motion_adapted"],
})
