"""All tunables in one place: defaults < config file < ``PEAKLENS_*`` environment < CLI flags.

The config file is YAML: ``--config FILE``, else ``$PEAKLENS_CONFIG``, else ``./peaklens.yaml`` when present,
else ``~/.config/peaklens/config.yaml`` when present.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from peaklens.errors import BadInput

DEFAULT_MODEL = "google/siglip2-base-patch16-224"
_SECRET_FIELDS = ("es_api_key", "es_password", "ui_password")


def default_data_dir() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "peaklens"


class Settings(BaseSettings):
    """peaklens settings; every field can be set as ``PEAKLENS_<NAME>`` (upper case)."""

    model_config = SettingsConfigDict(env_prefix="PEAKLENS_", extra="ignore", validate_assignment=True)

    # model
    model: str = Field(
        DEFAULT_MODEL, description="Hugging Face model id or local folder of a SigLIP/SigLIP-2"
    )
    device: str = Field("auto", description="auto (cuda when present, else cpu), cpu, cuda, cuda:1 ...")
    precision: Literal["auto", "fp32", "fp16", "bf16", "int8"] = Field(
        "auto",
        description="auto = fp16 on GPU; on a CPU int8 when measured agreement with fp32 passes, else fp32",
    )
    runtime: Literal["auto", "torch", "onnx"] = Field(
        "auto", description="auto = ONNX Runtime on CPU when it can carry the model, torch on GPU"
    )
    batch_size: int = Field(16, ge=1, le=4096, description="photos embedded per model call")
    decode_workers: int = Field(
        default_factory=lambda: min(16, max(2, os.cpu_count() or 2)),
        ge=1,
        le=64,
        description="threads decoding photos while the model runs (default: the core count, 2 to 16)",
    )
    bulk_size: int = Field(200, ge=1, le=10000, description="documents per bulk write")

    # query
    k: int = Field(60, ge=1, le=10000)
    num_candidates: int = Field(2000, ge=1, le=10000)
    min_confidence: float = Field(0.0, ge=0.0, le=1.0, description="drop text hits below this confidence")

    # index
    hnsw_m: int = Field(16, ge=2, le=512)
    ef_construction: int = Field(128, ge=4, le=4096)

    # placing photos without GPS from a GPS track (peaklens.gpx, docs/CAMERA.md)
    gpx: list[Path] = Field(default_factory=list, description="GPX track files to place photos without GPS")
    camera_tz: str | None = Field(
        None, description="zone of a camera clock without OffsetTimeOriginal: Asia/Kathmandu or +05:45"
    )
    camera_clock_offset: str | None = Field(
        None, description="how far the camera clock was ahead of the true time, ±HH:MM:SS"
    )
    gpx_max_gap_s: float = Field(
        1800.0, gt=0, description="longest gap between track points a photo is interpolated across (seconds)"
    )

    # catalog and peak prediction
    top_k_peaks: int = Field(3, ge=1, le=10, description="predicted peaks stored per photo")
    alpha_text: float = Field(0.5, description="weight of the text prototype against reference images")
    anti_concept_weight: float = Field(0.25, ge=0.0, le=2.0)
    geo_weight: float = Field(0.5, ge=0.0, le=1.0, description="weight of the geo prior in peak prediction")

    # store
    store: Literal["embedded", "elasticsearch"] = "embedded"
    data_dir: Path = Field(default_factory=default_data_dir, description="home of the embedded store")
    es_url: str = "http://localhost:9200"
    es_api_key: SecretStr | None = None
    es_username: str | None = None
    es_password: SecretStr | None = None
    es_ca_certs: Path | None = None
    es_verify_certs: bool = True
    es_request_timeout: float = Field(30.0, gt=0)
    es_max_retries: int = Field(3, ge=0, le=20)
    photos_index: str = "photos"
    peaks_index: str = "peaks_catalog"

    # ui
    album: Path | None = Field(None, description="album root (the UI serves files only from inside it)")
    max_upload_mb: float = Field(40.0, gt=0)
    ui_password: SecretStr | None = Field(
        None, description="required when the UI listens on a non-loopback address"
    )
    thumb_cache_mb: float = Field(500.0, gt=0, description="thumbnail cache size (least recently used goes)")

    @field_validator("alpha_text")
    @classmethod
    def _clamp_alpha(cls, value: float) -> float:
        return min(1.0, max(0.0, value))

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings, env_settings, _YamlFileSource(settings_cls))

    def public_dict(self) -> dict[str, Any]:
        """Settings for display: secrets masked, paths as strings."""
        shown: dict[str, Any] = {}
        for name, value in self.model_dump().items():
            if name in _SECRET_FIELDS:
                shown[name] = "********" if value is not None else None
            elif isinstance(value, Path):
                shown[name] = str(value)
            elif isinstance(value, list):
                shown[name] = [str(item) if isinstance(item, Path) else item for item in value]
            else:
                shown[name] = value
        return shown


#: the config file named by ``--config`` for the settings being built now (never written to ``os.environ``)
_CHOSEN_FILE: ContextVar[Path | None] = ContextVar("peaklens_config_file", default=None)


def config_file_path() -> Path | None:
    """The config file in force: ``--config``, else ``$PEAKLENS_CONFIG``, else ./peaklens.yaml, else
    ~/.config/peaklens/config.yaml (the last two when present)."""
    chosen = _CHOSEN_FILE.get()
    if chosen is not None:
        return chosen
    explicit = os.environ.get("PEAKLENS_CONFIG")
    if explicit:
        return Path(explicit)
    for candidate in (Path("peaklens.yaml"), Path.home() / ".config" / "peaklens" / "config.yaml"):
        if candidate.is_file():
            return candidate
    return None


class _YamlFileSource(PydanticBaseSettingsSource):
    def get_field_value(self, field: Any, field_name: str) -> tuple[Any, str, bool]:  # pragma: no cover
        return None, field_name, False

    def __call__(self) -> dict[str, Any]:
        return config_file_values(set(self.settings_cls.model_fields))


def config_file_values(known: set[str]) -> dict[str, Any]:
    """The settings the config file in force sets (none without one); an unknown key is one line."""
    path = config_file_path()
    if path is None:
        return {}
    if not path.is_file():
        raise BadInput(f"Config file {path} does not exist.")
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise BadInput(f"Config file {path} could not be read: {exc}") from None
    if not isinstance(data, dict):
        raise BadInput(f"Config file {path} must be a mapping of setting: value.")
    given = {str(k).replace("-", "_"): v for k, v in data.items()}
    unknown = sorted(k for k in given if k not in known)
    if unknown:
        # a misspelt key would otherwise be ignored in silence and the default used instead
        import difflib

        hints = [
            f"'{k}'" + (f" (did you mean '{close[0]}'?)" if close else "")
            for k in unknown
            for close in [difflib.get_close_matches(k, sorted(known), n=1)]
        ]
        raise BadInput(
            f"Config file {path}: unknown setting {', '.join(hints)}; `peaklens config` lists the settings."
        )
    return given


def setting_sources(flags: Iterable[str] = (), config_file: Path | None = None) -> dict[str, str]:
    """Where each setting's value comes from, by the precedence ``Settings`` applies: "flag --x" (one of
    ``flags``, the options given on the command line), "environment PEAKLENS_X", "config file", "default"."""
    names = list(Settings.model_fields)
    given_flags = set(flags)
    in_env = {key.upper() for key in os.environ}
    with using_config_file(config_file):
        in_file = config_file_values(set(names))
    sources: dict[str, str] = {}
    for name in names:
        variable = f"PEAKLENS_{name.upper()}"
        if name in given_flags:
            sources[name] = f"flag --{name.replace('_', '-')}"
        elif variable in in_env:
            sources[name] = f"environment {variable}"
        elif name in in_file:
            sources[name] = "config file"
        else:
            sources[name] = "default"
    return sources


@contextmanager
def using_config_file(config_file: Path | None) -> Iterator[None]:
    """Within the block, ``config_file`` (when given) is the config file in force, for this thread alone."""
    token = _CHOSEN_FILE.set(config_file) if config_file is not None else None
    try:
        yield
    finally:
        if token is not None:
            _CHOSEN_FILE.reset(token)


#: PEAKLENS_* variables that are not settings but are read all the same
NOT_SETTINGS = ("PEAKLENS_CONFIG",)


def unknown_environment(environ: Mapping[str, str] | None = None) -> list[str]:
    """One line per ``PEAKLENS_*`` variable that names no setting (a misspelling would otherwise be ignored
    in silence while a misspelt config-file key is an error)."""
    import difflib

    environ = os.environ if environ is None else environ
    known = [f"PEAKLENS_{name.upper()}" for name in Settings.model_fields]
    lines = []
    for variable in sorted(environ):
        if variable.upper().startswith("PEAKLENS_") and variable.upper() not in (*known, *NOT_SETTINGS):
            close = difflib.get_close_matches(variable.upper(), known, n=1, cutoff=0.85)
            hint = f" (did you mean {close[0]}?)" if close else ""
            lines.append(f"{variable} is not a peaklens setting{hint}; it is ignored.")
    return lines


def settings_from_file(path: Path) -> Settings:
    """Settings exactly as a file written by the UI launcher holds them: it names every setting, and values
    given to the constructor win over the environment and any other config file."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        if not isinstance(data, dict):
            raise BadInput(f"Settings file {path} must be a mapping of setting: value.")
        return Settings(**data)
    except (OSError, yaml.YAMLError, ValidationError) as exc:
        raise BadInput(f"Settings file {path} could not be read: {exc}") from None


def load_settings(config_file: Path | None = None, **overrides: Any) -> Settings:
    """Settings from file and environment, with non-None ``overrides`` (CLI flags) on top."""
    given = {k: v for k, v in overrides.items() if v is not None}
    try:
        with using_config_file(config_file):
            return Settings(**given)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or 'settings'}: {err['msg']}" for err in exc.errors()
        )
        raise BadInput(f"Invalid setting — {problems}") from None
