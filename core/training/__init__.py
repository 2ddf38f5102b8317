"""Training the flow stream: AdaBN, upper blocks, fine-tuning, generated motion (camera sets, the camera + object curriculum), the default weights."""

import lazy_loader

__getattr__, __dir__, __all__ = lazy_loader.attach(__name__, submod_attrs={
    "adaptation": ["adapt_batchnorm", "train_upper_blocks", "train_motion_heads"],
    "fine_tune": ["TrainingConfig", "fine_tune"],
    "motion_dataset": ["MOTIONS", "write_motion_dataset"],
    "motion_adapted": ["prepare_motion_adapted"],
    "curriculum": ["CurriculumSampler", "CurriculumClip", "render_curriculum_clip", "write_object_motion_dataset"],
    "photographs": ["photograph_paths"],
    "motion_families": ["family_sets", "family_features", "family_scores"],
    "recipe": ["CurriculumRecipe"],
    "motion_curriculum": ["make_motion_curriculum"],
})
