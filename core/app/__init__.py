"""What the dashboard and the CLI share: settings, the workspace, background jobs and their kinds."""

import lazy_loader

__getattr__, __dir__, __all__ = lazy_loader.attach(__name__, submod_attrs={
    "settings": ["load_settings"],
    "workspace": ["Workspace"],
    "library": ["video_card"],
    "jobs": ["JobRunner"],
    "runner": ["workspace_runner"],
    "users": ["UserDirectory"],
    "audit": ["AuditLog"],
})
