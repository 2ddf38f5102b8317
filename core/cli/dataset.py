"""`python -m core dataset`: write the labelled camera-motion dataset (class folders of videos)."""

from __future__ import annotations

import argparse

from core.cli.common import UsageError


def add_parser(subparsers: argparse._SubParsersAction) -> None:
    from core.training.motion_dataset import MOTIONS

    parser = subparsers.add_parser(
        "dataset", help="write a labelled camera-motion dataset (one folder per motion)",
        description=f"Clips of textured scenes moved by known camera motions ({', '.join(MOTIONS)}), "
                    "H.264, one folder per motion: ready for `extractor --mode implement|evaluate`.")
    parser.add_argument("--output_dir", required=True)
    parser.add_argument("--motions", nargs="+", default=list(MOTIONS), choices=MOTIONS, metavar="MOTION")
    parser.add_argument("--scenes", type=int, default=4, help="scenes per motion")
    parser.add_argument("--clips_per_scene", type=int, default=1)
    parser.add_argument("--frames", type=int, default=33, help="frames per clip")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--images", nargs="*", default=None,
                        help="your own pictures as scenes instead of generated ones")
    parser.add_argument("--video", default=None,
                        help="take the scenes from frames of this video (e.g. the demo video), one per "
                             "scene, evenly spread")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    import cv2
    import numpy as np

    from core.training.motion_dataset import write_motion_dataset

    scenes = None
    if args.video:
        from core.video.decode import iter_frames, probe_video
        count = probe_video(args.video).frame_count
        picks = set(np.linspace(0, count - 1, args.scenes).round().astype(int))
        scenes = [cv2.cvtColor(f, cv2.COLOR_BGR2RGB) for i, f in enumerate(iter_frames(args.video)) if i in picks]
    elif args.images:
        scenes = []
        for path in args.images:
            image = cv2.imread(path, cv2.IMREAD_COLOR)
            if image is None:
                raise UsageError(f"cannot read image {path}")
            scenes.append(cv2.cvtColor(image, cv2.COLOR_BGR2RGB))
    paths = write_motion_dataset(args.output_dir, args.motions, range(args.scenes), args.clips_per_scene,
                                 args.seed, num_frames=args.frames, scenes=scenes)
    print(f"wrote {len(paths)} clips in {len(args.motions)} class folders -> {args.output_dir}")
    return 0
