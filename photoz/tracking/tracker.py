"""MLflow tracking of a photoz run: store, experiment and run lifecycle (what a run logs: photoz.tracking.record).

Local default: a SQLite store at tracking.uri (relative paths taken from where the command runs)
with every experiment's artifacts under tracking.artifact_root/<experiment> (an explicit artifact
location, else MLflow drops them in ./mlruns of whatever folder the process runs in). One
experiment per data set. A run that raises ends FAILED with the error as tag `error`; a pruned
Optuna trial ends KILLED with tag trial_state=PRUNED; Ctrl-C or SIGTERM ends KILLED (resumable).
While it runs, a run carries its host, pid and a heartbeat (photoz.tracking.liveness).

mlflow is imported where it is used, so the path checks here fail fast without loading it.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from hydra.utils import to_absolute_path

from photoz import interrupt
from photoz.config import TrackingConfig
from photoz.errors import ConfigError, PhotozError, ResumeRefused, first_line, storage_failure
from photoz.tracking.liveness import Heartbeat, owner_tags
from photoz.tracking.store import SpaceReserve, check_writable, open_store, quiet_db_errors, store_lock
from photoz.tracking.remote import check_server, is_server, server_keeps_artifacts
from photoz.tracking.view import install_view

MAX_PARAM_CHARS = 6000  # MLflow's limit on a param value (and on the error tag here)

if TYPE_CHECKING:
    from mlflow.entities import Run


def _local_path(uri: str) -> Path | None:
    """The absolute database file of a sqlite:/// URI (relative paths from where the command runs)."""
    prefix = "sqlite:///"
    if not uri.startswith(prefix) or uri[len(prefix) :] in ("", ":memory:"):
        return None
    return Path(to_absolute_path(uri[len(prefix) :]))


def resolve_uri(uri: str) -> str:
    """tracking.uri with a relative SQLite path made absolute and its folder created; a tracking
    server must answer now (photoz.tracking.remote)."""
    if is_server(uri):
        check_server(uri)
        return uri
    path = _local_path(uri)
    if path is None:
        return uri
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise ConfigError(
            f"tracking.uri={uri}: cannot create {path.parent} ({err.strerror or first_line(err)}); "
            "point tracking.uri at a writable place, e.g. tracking.uri=sqlite:///mlruns/mlflow.db"
        ) from None
    check_writable("sqlite:///" + str(path), uri)
    return "sqlite:///" + str(path)


def read_only_uri(uri: str) -> tuple[str, bool]:
    """(tracking.uri made absolute, whether its store exists) for a command that only reads
    (photoz.compare, photoz.predict's model): nothing is created, not even a folder; a tracking
    server must answer now."""
    if is_server(uri):
        check_server(uri)
        return uri, True
    path = _local_path(uri)
    return (uri, True) if path is None else ("sqlite:///" + str(path), path.is_file())


def artifact_location(root: str, experiment: str) -> str:
    """Absolute artifact location of a new experiment: <artifact_root>/<experiment>."""
    if "://" in root:
        return f"{root.rstrip('/')}/{experiment}"
    path = Path(to_absolute_path(root)) / experiment
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise ConfigError(
            f"tracking.artifact_root={root}: cannot create {path} ({err.strerror or first_line(err)}); "
            "set tracking.artifact_root to a writable folder"
        ) from None
    return path.as_uri()


def experiment_name(tracking: TrackingConfig, data_dir: str | Path) -> str:
    """tracking.experiment, else the data set's directory name (one experiment per data set)."""
    return tracking.experiment or Path(data_dir).name




class Tracker:
    """An opened MLflow store; checks it is writable before any expensive work starts.

    `tracking` says where (uri, artifact_root); a new run started by `run` is a child of
    `parent_run_id` (a sweep's parent run, or the runs photoz.compare compares), if given."""

    def __init__(self, tracking: TrackingConfig, parent_run_id: str | None = None) -> None:
        import mlflow

        self.tracking = tracking
        self.parent_run_id = parent_run_id
        self.uri = resolve_uri(tracking.uri)
        mlflow.set_tracking_uri(self.uri)
        quiet_db_errors()  # a failed statement is reported once, by photoz, not as MLflow's traceback
        try:
            with store_lock(self.uri):  # one process at a time creates a fresh store's tables
                self.client = open_store(self.uri)
        except Exception as err:  # SQLAlchemy, HTTP and MLflow each raise their own kind
            full = storage_failure(err)
            raise ConfigError(
                f"tracking.uri={tracking.uri}: {full}; free some space and rerun"
                if full else f"tracking.uri={tracking.uri}: cannot open the MLflow store ({first_line(err)}); "
                "point tracking.uri at a writable place or a reachable server"
            ) from None
        self.experiment_id: str | None = None
        self.experiment_name: str | None = None

    def use_experiment(self, name: str) -> str:
        """Get or create experiment `name` (with an explicit artifact location); returns its id."""
        self.experiment_name = name
        found = self.client.get_experiment_by_name(name)
        if found is not None and found.lifecycle_stage == "deleted":
            raise ConfigError(
                f"MLflow experiment {name!r} is deleted; restore it (mlflow experiments restore) "
                "or choose another name with tracking.experiment=..."
            )
        if found is None:
            root = self.tracking.artifact_root
            location = None if server_keeps_artifacts(self.uri, root) else artifact_location(root, name)
            try:
                self.experiment_id = self.client.create_experiment(name, artifact_location=location)
            except Exception:  # another process created it at the same moment: use theirs
                again = self.client.get_experiment_by_name(name)
                if again is None:
                    raise
                self.experiment_id = again.experiment_id
        else:
            self.experiment_id = found.experiment_id
        install_view(self.client, self.experiment_id)  # the runs table's curated columns (photoz.tracking.view)
        return self.experiment_id

    def find_unfinished(self, config_hash: str) -> Run | None:
        """The latest run of this config that did not finish and was not pruned (for resume)."""
        runs = self.client.search_runs(
            [self.experiment_id],
            filter_string=f"tags.config_hash = '{config_hash}' and attributes.status != 'FINISHED'",
            order_by=["attributes.start_time DESC"],
        )
        runs = [r for r in runs if r.data.tags.get("trial_state") != "PRUNED"]
        return runs[0] if runs else None

    @contextmanager
    def run(self, run_name: str, tags: dict[str, str], run_id: str | None = None) -> Iterator[str]:
        """Start (or, with run_id, reopen) a run; end it FINISHED, FAILED or KILLED by outcome."""
        import mlflow

        parent = self.parent_run_id if run_id is None else None
        mlflow.set_experiment(experiment_id=self.experiment_id)  # reopening a run checks the active experiment
        reserve = SpaceReserve(self.uri)  # room to record how the run ends, even on a disk it fills
        try:
            active = mlflow.start_run(
                run_id=run_id,
                experiment_id=self.experiment_id,
                run_name=None if run_id else run_name,
                parent_run_id=parent,
                tags={**tags, **owner_tags()},  # who runs it, for liveness (photoz.tracking.liveness)
            )
            if run_id is not None:
                mlflow.set_tags(owner_tags())  # a reopened run belongs to this process now
        except BaseException:
            reserve.release()
            raise
        heartbeat = Heartbeat(self.client, active.info.run_id)
        try:
            interrupt.check()  # a Ctrl-C or SIGTERM received while the run was being started
            yield active.info.run_id
            interrupt.check()  # ... or while it ran, outside any safe point: it never ends FINISHED
        except BaseException as err:
            heartbeat.stop()
            reserve.release()
            status, extra = _outcome(err, tags)
            ended = _end(status, extra)
            full = storage_failure(err)
            if full is None:
                raise
            how = f"ended {status}" if ended else "could not be ended and shows RUNNING"
            raise PhotozError(f"{full}; MLflow run {active.info.run_id} {how}; free some space and rerun") from err
        heartbeat.stop()
        reserve.release()
        if run_id is not None and "error" in self.client.get_run(run_id).data.tags:
            self.client.delete_tag(run_id, "error")  # a resumed run that finished: its interruption is over
        mlflow.end_run("FINISHED")


def _end(status: str, tags: dict[str, str]) -> bool:
    """End the active run with `status`, recording `tags` if the store still can; whether the
    status was written (a tag that cannot be written must not leave the run RUNNING, nor let
    MLflow's exit hook end it FINISHED)."""
    import mlflow

    try:
        mlflow.set_tags(tags)
    except Exception:  # noqa: BLE001 (the status matters more; the caller reports the error)
        pass
    try:
        mlflow.end_run(status)
    except Exception:  # noqa: BLE001
        return False
    return True


def _outcome(err: BaseException, tags: dict[str, str]) -> tuple[str, dict[str, str]]:
    """The status a run ends with and the tags that say why; an interruption gets its advice
    (how to continue: `err.advice`, printed by the entry point) if the run is a training run."""
    if type(err).__name__ == "TrialPruned":
        return "KILLED", {"trial_state": "PRUNED"}
    if isinstance(err, ResumeRefused):  # the interrupted run it reopened stays as it was: KILLED
        return "KILLED", {"error": f"resume refused: {err}"[:MAX_PARAM_CHARS]}
    if isinstance(err, KeyboardInterrupt):
        if "study" in tags:  # a sweep trial: its study goes on with new trials, this one is not resumed
            advice = "rerun the sweep command to continue its study with new trials"
        elif "config_hash" in tags:  # a photoz.train run: state.json and last.pt name it
            advice = "continue with the same command plus trainer.resume=true"
        else:
            advice = None
        if isinstance(err, interrupt.Interrupted) and err.advice is None:
            err.advice = advice
        return "KILLED", {"error": f"interrupted ({type(err).__name__})" + (f"; {advice}" if advice else "")}
    return "FAILED", {"error": f"{type(err).__name__}: {err}"[:MAX_PARAM_CHARS]}
