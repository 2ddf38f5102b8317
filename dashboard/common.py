"""What every dashboard page shares: the signed-in user, the workspace, the job runner, the audit log.

Pages only call `core`; nothing here computes anything.
"""

from __future__ import annotations

import streamlit as st

from core.registry.versions import MODEL_NAME, ModelRegistry
from core.app.settings import load_settings
from core.app.audit import AuditLog
from core.app.jobs import JobState, time_left
from core.app.runner import workspace_runner
from core.app.users import LOCAL_USER, LoginError, User, UserDirectory
from core.app.workspace import Workspace
from core.errors import DFEError


# The demo video's results on a new workspace: features with the default model (which store the
# flow), then the flow page's colour preview of that flow.
DEMO_JOBS = (("features", {"version": "default", "flow_method": "dis", "sequence_length": 16, "stride": 8,
                           "endpoint": "Features", "rgb": False}),
             ("flow", {"method": "dis", "params": {}}))


@st.cache_resource
def _workspace(root: str, model_dir: str, demo_results: bool) -> Workspace:
    workspace = Workspace(root)
    demo = workspace.ensure_demo_video()
    if demo is not None and demo_results:
        previous = ""
        for kind, request in DEMO_JOBS:  # one after the other: the second reuses what the first stored
            previous = runner().submit(kind, {"video": demo.name, **request}, owner="", after=previous).id
    return workspace


def workspace() -> Workspace:
    """The configured workspace (DFE_WORKSPACE or config/app.yaml); a new one gets the demo video
    and, with `demo_results`, its flow and features computed in the background."""
    settings = load_settings()
    return _workspace(str(settings.workspace), str(settings.model_dir), settings.demo_results)


@st.cache_resource
def _runner(root: str, model_dir: str, workers: int, ray_address: str | None):
    return workspace_runner(Workspace(root), model_dir, workers, ray_address)


def runner():
    """The one job runner of this server process (jobs survive reruns, page switches, reloads); its
    workers (local processes, or Ray actors with `job_engine: ray`) load each model version once and
    keep it for the next jobs."""
    settings = load_settings()
    return _runner(str(settings.workspace), str(settings.model_dir), settings.workers,
                   settings.job_runner_ray_address)


def current_user() -> User:
    """Who is using this session: with login off (no users file), the local admin; with login on,
    the signed-in user, or a login form that stops the page until someone signs in."""
    settings = load_settings()
    if not settings.login:
        return LOCAL_USER
    if isinstance(st.session_state.get("user"), User):
        return st.session_state["user"]
    st.title("Sign in")
    directory = UserDirectory(settings.users_file)
    if not directory.path.exists():
        st.info("No users yet: an admin adds the first with `python -m core users add NAME --role admin` "
                "(in the container: `docker compose exec dashboard .venv/bin/python -m core users add ...`).")
    with st.form("login"):
        name = st.text_input("User name")
        password = st.text_input("Password", type="password")
        submitted = st.form_submit_button("Sign in", type="primary")
    if submitted:
        try:
            st.session_state["user"] = directory.authenticate(name, password)
        except LoginError as error:
            audit_log().record(name.strip().lower()[:32], "login_failed")
            st.error(f"Not signed in: {error}.")
        except DFEError as error:  # an unreadable users file: the admin must fix it
            st.error(f"Sign-in is not possible now: {error}")
        else:
            audit("login")
            st.rerun()
    st.stop()


def user_badge() -> None:
    """In the sidebar: who is signed in, and a sign-out button (login on only)."""
    if not load_settings().login:
        return
    user = current_user()
    st.sidebar.caption(f"Signed in as **{user.name}** ({user.role})")
    if st.sidebar.button("Sign out"):
        del st.session_state["user"]
        st.rerun()


def audit_log() -> AuditLog:
    return AuditLog(workspace().audit_log)


def audit(action: str, target: str = "", **details) -> None:
    """Record `action` by the current user in the workspace's audit log."""
    audit_log().record(current_user().name, action, target, **details)


def submit_job(kind: str, request: dict) -> JobState:
    """Queue a job for the current user (their turn in the fair queue)."""
    return runner().submit(kind, request, owner=current_user().name)


def may_manage(job: JobState) -> bool:
    """Whether the current user may cancel `job`: its owner or an admin."""
    user = current_user()
    return user.is_admin or job.owner == user.name


def video_picker(label: str = "Video", key: str = "video"):
    """A select box of the videos the user may see; stops the page with a hint when there are none."""
    videos = workspace().visible_videos(current_user())
    if not videos:
        st.info("The workspace has no videos yet: add some on the Upload page.")
        st.stop()
    names = [v.name for v in videos]
    chosen = st.session_state.get("selected_video")
    index = names.index(chosen) if chosen in names else 0
    name = st.selectbox(label, names, index=index, key=key)
    st.session_state["selected_video"] = name
    return workspace().visible_video(current_user(), name)


def registry() -> ModelRegistry:
    """The configured model registry (DFE_MODEL_DIR or config/app.yaml) of the extractor model."""
    return ModelRegistry(load_settings().model_dir, MODEL_NAME)


def model_version_picker(column, help: str | None = None) -> str:
    """A select box of the registry's aliases and versions (newest first) in `column`; stops the page
    with a hint when the registry is empty."""
    versions = registry()
    choices = list(versions.aliases()) + list(reversed(versions.versions()))
    if not choices:
        st.warning("The model registry is empty: run `python -m core weights prepare` (set-up does it).")
        st.stop()
    return column.selectbox("Model version", choices, help=help)


def follow_job(kind: str, request: dict, failure: str) -> None:
    """Live progress of the job for `request` (refreshed every second, without rerunning the page);
    when it finishes, the page reruns once to show the result, or `failure` and the reason."""
    done_key = f"shown-{kind}-job"

    @st.fragment(run_every=1.0)
    def progress() -> None:
        job = runner().find(kind, request)
        if job is None:
            return
        if not job.finished:
            st.progress(job.fraction, text=_progress_text(job))
            cancel_button(job)
        elif job.status == "cancelled":
            st.info(f"Cancelled ({job.message}).")
        elif job.status in ("failed", "interrupted"):
            st.error(f"{failure}: {job.message}")
        elif st.session_state.get(done_key) != job.id:
            st.session_state[done_key] = job.id
            st.rerun(scope="app")

    progress()


def cancel_button(job) -> None:
    """A button that cancels `job` (queued or running), for its owner or an admin."""
    if may_manage(job) and st.button("Cancel", key=f"cancel-{job.id}",
                                     help="stop this job; nothing it was writing is kept"):
        runner().cancel(job.id)
        audit("cancel_job", job.kind, job=job.id, owner=job.owner)


def _progress_text(job) -> str:
    """`queued: 2nd in line`, `starting: a worker is getting ready` or `flow: 12/40 (30%), about 1 min left`."""
    if job.status == "queued":
        if runner().handed_to_worker(job.id):
            return "starting: a worker is getting ready"
        position = runner().queue_position(job.id)
        return f"queued: {_ordinal(position)} in line" if position else "queued: after another job"
    text = f"{job.stage or 'starting'}: {job.done}/{job.total or '?'}"
    if job.total:
        text += f" ({job.fraction:.0%})"
    seconds = time_left(job)
    return text if seconds is None else f"{text}, about {_duration(seconds)} left"


def _ordinal(n: int) -> str:
    return f"{n}{'th' if 10 <= n % 100 <= 20 else {1: 'st', 2: 'nd', 3: 'rd'}.get(n % 10, 'th')}"


def _duration(seconds: float) -> str:
    if seconds < 90:
        return f"{max(1, round(seconds))} s"
    if seconds < 5400:
        return f"{round(seconds / 60)} min"
    return f"{seconds / 3600:.1f} h"


def unfinished_jobs() -> list[JobState]:
    """The queued or running jobs the current user may see: their own (all, for an admin) and the
    workspace's (no owner, e.g. the demo video's)."""
    return [job for job in runner().list() if not job.finished and (may_manage(job) or not job.owner)]


def follow_running_jobs() -> None:
    """Live progress of every queued or running job (refreshed every second, without rerunning the
    page); when the last one finishes, the page reruns once to show what they computed."""

    @st.fragment(run_every=1.0)
    def progress() -> None:
        running = unfinished_jobs()
        for job in running:
            st.progress(job.fraction, text=f"{job.kind} {job.params.get('video', '')} - {_progress_text(job)}")
            cancel_button(job)
        if st.session_state.get("jobs-were-running") and not running:
            st.session_state["jobs-were-running"] = False
            st.rerun(scope="app")
        st.session_state["jobs-were-running"] = bool(running)

    progress()
