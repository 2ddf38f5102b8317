"""The names of the flow stream's weight sources (`model.weights` in the config), without Keras.

See `core.weights.flow_stream` for what each one is.
"""

WEIGHT_SOURCES = ("checkpoint", "motion_curriculum", "motion_adapted", "cross_modal_kinetics", "cross_modal_kinetics_xy", "random")
