"""How the default flow-stream weights are made: `CurriculumRecipe`, the fields `train-default` takes.

Plain data with no Keras import, so the command line shows its defaults without loading TensorFlow;
`core.training.motion_curriculum` makes weights from it.
"""

from __future__ import annotations

from dataclasses import dataclass

from core.errors import ConfigError
from core.model.endpoints import ENDPOINT_ORDER, resolve_endpoint
from core.training.flow_layout import LAYOUT_POOLINGS


@dataclass(frozen=True)
class CurriculumRecipe:
    """How the default is made: `clips` training clips (`families` in turn) drawn with `seed`, each
    clip's flow by one of `flow_methods` (drawn per clip; the first is the one measured), starting
    from `init`, training the blocks after `boundary` for `epochs` with the object loss weighted
    `object_weight` against `object_targets` ("present": multi-hot `CurriculumClip.object_labels`,
    "area_share": `CurriculumClip.object_shares`) and, if `layout_grid`, a layout head (see
    `core.training.flow_layout`; on `camera_relative` flow if `layout_camera_relative`; with
    `layout_pooling` "max" its `strongest_regions`) weighted `layout_weight`, and if
    `parameter_weight` > 0 a head regressing the camera's and objects' motion as numbers
    (`core.training.curriculum.motion_parameters` over `parameter_periods` time spans: velocities,
    scale rates, turns) weighted so. With a `deeper_boundary` (an endpoint before `boundary`), a
    second stage then trains the blocks after it for `deeper_epochs`, with fresh heads and the same
    losses. With `fresh_upper`, the blocks the first stage trains start from a random initialisation
    (`redraw_upper_blocks`) instead of `init`'s. With a `contrastive_weight`, every stage adds
    `core.training.contrastive`'s loss on the Features over the camera and object targets (on a
    projection head `contrastive_projection` wide, if > 0), and with a `neighbour_weight` its
    neighbour-preserving loss against the stage's input. With a `contrastive_layout` (needs a layout
    head and the contrastive loss), that loss's labels also hold each clip's strongest-region layout
    (`core.training.contrastive.layout_label_columns`), weighing as much as `contrastive_layout`
    camera labels for the median clip. Objects are drawn as `CurriculumSampler` says of the fields
    of the same names."""

    clips: int = 4800
    seed: int = 11
    families: tuple[str, ...] = ("camera", "object", "object", "composed", "composed")  # in turn
    flow_methods: tuple[str, ...] = ("dis",)
    init: str = "cross_modal_kinetics_xy"
    boundary: str = "MaxPool3d_5a_2x2"
    epochs: int = 15
    object_weight: float = 3.0
    single_object_share: float = 0.5
    max_objects: int = 3
    object_sizes: tuple[int, int] = (48, 112)
    slowest_object: float = 1.0
    random_swing_phase: bool = False
    object_targets: str = "present"
    held_out_objects: tuple[str, ...] = ()  # object motions no training clip has (a family kept for measurement)
    layout_grid: int = 4  # > 0: a third head regresses `flow_layout(flow, layout_grid, layout_periods)`
    layout_periods: int = 2
    layout_weight: float = 1.0
    layout_camera_relative: bool = True
    layout_pooling: str = "max"  # "max": the layout head regresses `strongest_regions` of the layout
    parameter_weight: float = 0.0  # > 0: a head regresses each clip's `motion_parameters` (parameter_periods spans)
    parameter_periods: int = 2
    deeper_boundary: str = "Mixed_4e"  # "": one stage; else the second stage trains the blocks after this endpoint
    deeper_epochs: int = 4
    fresh_upper: bool = False  # the first stage's blocks start from a random initialisation (seed), not init's
    contrastive_weight: float = 2.0  # > 0: a contrastive loss on the Features (core.training.contrastive)
    contrastive_projection: int = 0  # > 0: that loss on a projection head of this width instead (SimCLR's)
    neighbour_weight: float = 0.0  # > 0: the Features keep their input's nearest clips (core.training.contrastive)
    contrastive_layout: float = 0.0  # > 0: the contrastive labels hold the strongest-region layout, weighing this

    @property
    def pass_boundary(self) -> str:
        """The endpoint whose activations the clip pass keeps: the earliest one a stage trains after."""
        return self.deeper_boundary or self.boundary

    @property
    def stages(self) -> list[tuple[str, int]]:
        """(boundary, epochs) of each training stage, in order."""
        return [(self.boundary, self.epochs)] + ([(self.deeper_boundary, self.deeper_epochs)]
                                                 if self.deeper_boundary else [])

    def check(self) -> None:
        """Raise `EndpointError` for an unknown boundary, `ConfigError` for a deeper one not before
        `boundary`, an unknown `layout_pooling`, or a `contrastive_layout` without a layout head and the
        contrastive loss."""
        if self.layout_pooling not in LAYOUT_POOLINGS:
            raise ConfigError(f"unknown layout pooling {self.layout_pooling!r}; choose from {list(LAYOUT_POOLINGS)}")
        boundary = resolve_endpoint(self.boundary)
        if self.deeper_boundary and ENDPOINT_ORDER.index(resolve_endpoint(self.deeper_boundary)) >= \
                ENDPOINT_ORDER.index(boundary):
            raise ConfigError(f"deeper_boundary {self.deeper_boundary!r} must come before boundary {self.boundary!r}")
        if bool(self.deeper_boundary) != (self.deeper_epochs > 0):
            raise ConfigError("a second stage needs both deeper_boundary and deeper_epochs > 0")
        if self.contrastive_layout and not (self.layout_grid and self.contrastive_weight):
            raise ConfigError("contrastive_layout puts the layout in the contrastive loss's labels: it needs "
                              "layout_grid > 0 and contrastive_weight > 0")
