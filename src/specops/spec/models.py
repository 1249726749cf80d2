"""The schema of specops.yaml, version 1, declared in one place."""

from __future__ import annotations

import math
import posixpath
import re
from collections.abc import Callable
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    ValidatorFunctionWrapHandler,
    WrapValidator,
)

from specops.spec.cron import cron

Step = Literal[
    "extract",
    "validate_data",
    "prepare",
    "featurize",
    "train",
    "evaluate",
    "validate_model",
    "deploy",
    "monitor",
]
Maturity = Literal[0, 1, 2, 3, 4]
Better = Literal["higher", "lower"]

ProjectName = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9-]*$", max_length=64)]
StageName = Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]+$")]
ModelName = Annotated[str, Field(pattern=r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?$", max_length=64)]
PromotionStage = Annotated[str, Field(pattern=r"^[a-z0-9]([a-z0-9-]*[a-z0-9])?$", max_length=64)]
Text = Annotated[str, Field(min_length=1)]
FiniteFloat = Annotated[float, Field(allow_inf_nan=False)]


class OneCommand(list[str]):
    """A `cmd` written as one string, not as a list: dvc.lock records `cmd` as DVC reads it,
    and DVC reruns a stage whose one-command list became a string, or the reverse."""


def _command(value: Any, handler: ValidatorFunctionWrapHandler) -> Any:
    if isinstance(value, str):
        return OneCommand(handler([value]))
    if not isinstance(value, list):
        raise ValueError("must be a command or a list of commands")
    return handler(value)


def _python(value: str) -> str:
    if int(value.split(".")[1]) < 10:
        raise ValueError(f"specops needs Python 3.10 or later; {value!r} is older")
    return value


_URL = r"^https?://[^\s\\\"'`<>]+$"


def _url(value: str) -> str:
    if len(value) > 2048 or not re.fullmatch(_URL, value):
        raise ValueError("must be an http:// or https:// URL without spaces or quotes")
    return value


def _tolerance(value: Any) -> Any:
    """`0.01` is an absolute allowance, `"2%"` a relative one; both must be finite and >= 0."""
    if isinstance(value, str) and re.fullmatch(r"\s*[0-9]+(\.[0-9]+)?\s*%\s*", value):
        return value.strip()
    number = isinstance(value, (int, float)) and not isinstance(value, bool)
    if not number or not math.isfinite(value) or value < 0:
        raise ValueError("must be a number >= 0 or a percentage such as '2%'")
    return value


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class OutOptions(_Model):
    """Options DVC accepts on an output."""

    cache: bool | None = None
    persist: bool | None = None
    remote: Text | None = None
    push: bool | None = None
    desc: Text | None = None
    #: DVC's annotations of an output, as on an artifact.
    type: Text | None = None
    labels: list[Text] | None = None
    meta: Any = None


class PlotOptions(OutOptions):
    """Options DVC accepts on a plot output."""

    x: Text | None = None
    y: Text | None = None
    template: Text | None = None
    title: Text | None = None
    x_label: Text | None = None
    y_label: Text | None = None
    header: bool | None = None


def _exactly_one(what: str) -> Callable[[dict[str, Any]], dict[str, Any]]:
    """A check that a mapping holds one key: dvc.yaml writes `{path: options}` items."""

    def check(value: dict[str, Any]) -> dict[str, Any]:
        if len(value) != 1:
            raise ValueError(f"must map exactly one {what}")
        return value

    return check


_single_entry = _exactly_one("path to its options")


def _path_kind(value: Any) -> str | None:
    if isinstance(value, str):
        return "path"
    return "options" if isinstance(value, dict) else None


_ENTRY_KIND = Discriminator(
    _path_kind,
    custom_error_type="path_entry",
    custom_error_message="must be a path or a mapping of one path to its options",
)
_ONE_KEY = Field(json_schema_extra={"minProperties": 1, "maxProperties": 1})
# A list item that is either `path` or `{path: {options}}`, as in dvc.yaml.
OutEntry = Annotated[
    Annotated[Text, Tag("path")]
    | Annotated[dict[Text, OutOptions], AfterValidator(_single_entry), _ONE_KEY, Tag("options")],
    _ENTRY_KIND,
]


def _one_plot_options(value: Any) -> Any:
    """DVC's schema also takes a list of option mappings for one file, but DVC 3 cannot load
    it (`Expected dict for 'plot.csv', got: 'list'`), so specops says so instead."""
    if isinstance(value, list):
        raise ValueError(
            "a list of options for one plot file is in DVC's schema, but DVC 3 cannot load it;"
            " give one mapping of options, and define other plots of the file in the top-level"
            " `plots`"
        )
    return value


PlotEntry = Annotated[
    Annotated[Text, Tag("path")]
    | Annotated[
        dict[Text, Annotated[PlotOptions, BeforeValidator(_one_plot_options)]],
        AfterValidator(_single_entry),
        _ONE_KEY,
        Tag("options"),
    ],
    _ENTRY_KIND,
]


def _kind_of(value: Any) -> str | None:
    """The YAML kind of a value, for unions told apart by it."""
    if isinstance(value, str):
        return "text"
    if isinstance(value, list):
        return "list"
    return "mapping" if isinstance(value, dict) else None


def _by_kind(name: str, message: str) -> Discriminator:
    return Discriminator(_kind_of, custom_error_type=name, custom_error_message=message)


NonEmpty = Field(min_length=1)
#: A field of a plot's data, or several, as DVC's top-level plots take them.
PlotFields = Annotated[
    Annotated[Text, Tag("text")] | Annotated[list[Text], NonEmpty, Tag("list")],
    _by_kind("plot_fields", "must be a field name or a list of field names"),
]


class PlotDefinition(_Model):
    """A top-level plot of dvc.yaml: what to draw from which files (DVC's PLOT_DEFINITION)."""

    #: A field of the plot's file, or `{file: field}` for a field of another file.
    x: (
        Annotated[
            Annotated[Text, Tag("text")] | Annotated[dict[Text, Text], NonEmpty, Tag("mapping")],
            _by_kind("plot_x", "must be a field name or a mapping of files to a field"),
        ]
        | None
    ) = None
    #: Fields of the file named by the plot's id, or `{file: field or [fields]}`: then the id
    #: is only a name, and the files are those keys.
    y: (
        Annotated[
            Annotated[Text, Tag("text")]
            | Annotated[list[Text], NonEmpty, Tag("list")]
            | Annotated[dict[Text, PlotFields], NonEmpty, Tag("mapping")],
            _by_kind(
                "plot_y",
                "must be a field name, a list of field names or a mapping of files to fields",
            ),
        ]
        | None
    ) = None
    x_label: Text | None = None
    y_label: Text | None = None
    title: Text | None = None
    template: Text | None = None


_one_plot = _exactly_one("plot id to its definition")


#: A top-level `plots` item, as in dvc.yaml: a file or folder, or `{id: definition or null}`.
TopPlotEntry = Annotated[
    Annotated[Text, Tag("text")]
    | Annotated[
        dict[Text, PlotDefinition | None], AfterValidator(_one_plot), _ONE_KEY, Tag("mapping")
    ],
    _by_kind("plot_entry", "must be a path or a mapping of one plot id to its definition"),
]


def plot_id(entry: str | dict[str, PlotDefinition | None]) -> str:
    """The id of a top-level `plots` item: its path, or the key of its definition."""
    return path_of(entry)


def path_of(entry: str | dict[str, Any]) -> str:
    """The path of an `outs`, `metrics` or `plots` item."""
    return entry if isinstance(entry, str) else next(iter(entry))


#: A params entry: a key of params.yaml, or a file with the keys DVC tracks in it (all of
#: them when the list is left out, `other.yaml:` in dvc.yaml).
ParamsEntry = Annotated[
    Annotated[Text, Tag("key")] | Annotated[dict[Text, list[Text] | None], Tag("file")],
    Discriminator(
        lambda v: "key" if isinstance(v, str) else "file" if isinstance(v, dict) else None,
        custom_error_type="params_entry",
        custom_error_message="must be a key of params.yaml or a mapping of one file to its keys",
    ),
]
ParamRef = tuple[str | None, str | None, tuple[str | int, ...]]

#: A command or a list of commands, as a list; one written as a string is a OneCommand.
Command = Annotated[
    list[Text],
    Field(min_length=1),
    WrapValidator(
        _command, json_schema_input_type=Text | Annotated[list[Text], Field(min_length=1)]
    ),
]
MatrixValue = str | int | float | bool | list[Any] | dict[str, Any]

#: A runner label: what `runs-on` takes for GitHub's hosted runners (`ubuntu-24.04`) and the
#: labels of self-hosted ones (`self-hosted`, `gpu`): nothing YAML, a shell or GitHub's
#: expression syntax could read as more than a name.
RUNNER_LABEL = r"^[A-Za-z0-9][A-Za-z0-9._-]*$"


def _label(value: str) -> str:
    if len(value) > 100 or not re.fullmatch(RUNNER_LABEL, value):
        raise ValueError(
            f"{value!r} is not a runner label specops accepts: letters, digits and '._-',"
            " starting with a letter or digit, at most 100 characters"
        )
    return value


def _labels(value: list[str]) -> list[str]:
    repeated = sorted({label for label in value if value.count(label) > 1})
    if repeated:
        raise ValueError(f"the label {repeated[0]!r} is listed twice")
    return value


def _one_or_list(value: Any, handler: ValidatorFunctionWrapHandler) -> Any:
    return handler([value] if isinstance(value, str) else value)


RunnerLabel = Annotated[
    str,
    AfterValidator(_label),
    Field(json_schema_extra={"pattern": RUNNER_LABEL, "maxLength": 100}),
]
#: `runs-on`: one label or a list of labels a runner must all have, as a list.
RunsOn = Annotated[
    list[RunnerLabel],
    Field(min_length=1),
    AfterValidator(_labels),
    WrapValidator(
        _one_or_list,
        json_schema_input_type=RunnerLabel | Annotated[list[RunnerLabel], Field(min_length=1)],
    ),
]


#: A `vars` entry, as in dvc.yaml: a file (`path` or `path:key,key`) or values.
VarsEntry = Annotated[
    Annotated[Text, Tag("file")] | Annotated[dict[str, Any], Tag("values")],
    Discriminator(
        lambda v: "file" if isinstance(v, str) else "values" if isinstance(v, dict) else None,
        custom_error_type="vars_entry",
        custom_error_message="must be a file name or a mapping of values",
    ),
]


class Stage(_Model):
    """One pipeline stage, rendered into `dvc.yaml`."""

    step: Step | None = None
    desc: Text | None = None
    cmd: Command
    deps: list[Text] = []
    params: list[ParamsEntry] = []
    outs: list[OutEntry] = []
    metrics: list[OutEntry] = []
    plots: list[PlotEntry] = []
    #: Each key lists its values, or takes a list from `vars` or params.yaml (`${key}`).
    matrix: (
        dict[Annotated[str, Field(pattern=r"^[A-Za-z0-9_]+$")], list[MatrixValue] | Text] | None
    ) = None
    always_changed: bool | None = None
    frozen: bool | None = None
    #: Anything the team wants to keep with the stage; DVC stores it and ignores it.
    meta: Any = None
    #: The folder the command runs in, relative to the spec; deps, outs and params files are
    #: relative to it, and `params` keys are those of its params.yaml.
    wdir: Text | None = None
    #: Values for this stage's `${...}` on top of the spec's (files relative to wdir).
    vars: list[VarsEntry] = []
    #: The runner labels of the job this stage runs in, when not those of `ci.runs_on`: the
    #: stage then runs in a job of its own, before the jobs of the stages that need it.
    runs_on: RunsOn | None = None
    #: A matrix or foreach stage whose items each run on a runner of their own, at most
    #: `max_parallel` at a time.
    fan_out: bool = False
    max_parallel: Annotated[int, Field(ge=1, le=256)] | None = None

    def in_wdir(self, path: str) -> str:
        """`path` relative to the repository rather than to the stage's working folder; a URL
        (`ds://name`, `s3://bucket/key`) as it is."""
        return posixpath.join(self.wdir, path) if self.wdir and not URL.match(path) else path

    @property
    def all_outs(self) -> list[str]:
        """Every path the stage writes: outs, metrics and plots."""
        return [path_of(e) for e in (*self.outs, *self.metrics, *self.plots)]

    @property
    def param_refs(self) -> list[ParamRef]:
        """Every params entry: (file, key, where under `params`); a key of params.yaml has
        no file, and a whole file no key."""
        refs: list[ParamRef] = []
        for i, entry in enumerate(self.params):
            if isinstance(entry, str):
                refs.append((None, entry, (i,)))
                continue
            for file, keys in entry.items():
                if keys is None:
                    refs.append((file, None, (i, file)))
                refs += [(file, key, (i, file, j)) for j, key in enumerate(keys or ())]
        return refs


#: What `foreach` iterates over, as in dvc.yaml: a list, a mapping (each key names its item), or
#: a `${...}` naming either in `vars` or params.yaml.
ForeachItems = Annotated[
    Annotated[list[MatrixValue], Tag("list")]
    | Annotated[dict[str, Any], Tag("mapping")]
    | Annotated[Text, Tag("text")],
    Discriminator(
        lambda v: (
            "list"
            if isinstance(v, list)
            else "mapping"
            if isinstance(v, dict)
            else "text"
            if isinstance(v, str)
            else None
        ),
        custom_error_type="foreach_items",
        custom_error_message="must be a list, a mapping or a `${...}` naming one",
    ),
]


class Foreach(_Model):
    """A stage DVC generates once per item of `foreach`, each named `stage@item`: `do` is the
    stage, where `${item}` is the item (and `${key}` its key, when `foreach` is a mapping)."""

    foreach: ForeachItems
    do: Stage


#: The discriminator tags of a stage entry: never keys a user writes in a stage, so that
#: positions found by key path skip them.
PLAIN_STAGE, FOREACH_STAGE = "(stage)", "(foreach stage)"


def _stage_kind(value: Any) -> str:
    """DVC tells a foreach stage by either of its keys."""
    foreach = isinstance(value, dict) and ("foreach" in value or "do" in value)
    return FOREACH_STAGE if foreach or isinstance(value, Foreach) else PLAIN_STAGE


#: A stage as dvc.yaml writes it: a stage, or `foreach` and `do`.
StageEntry = Annotated[
    Annotated[Stage, Tag(PLAIN_STAGE)] | Annotated[Foreach, Tag(FOREACH_STAGE)],
    Discriminator(_stage_kind),
]


def body(entry: Stage | Foreach) -> Stage:
    """The stage itself: a foreach stage's `do`."""
    return entry.do if isinstance(entry, Foreach) else entry


#: GTO's artifact name, which DVC checks (`check_name_format`): letters, digits, `-`, `_` and
#: `/`, starting and ending with a letter or digit.
ARTIFACT_NAME = r"^[a-zA-Z0-9]([a-zA-Z0-9/_-]*[a-zA-Z0-9])?$"
ARTIFACT_NAME_RULE = (
    "an artifact name may hold only letters, digits, '-', '_' and '/', and must start and end"
    " with a letter or digit"
)


def _artifact_name(value: str) -> str:
    """DVC resolves `${...}` in artifact names: those are checked once resolved."""
    if "${" in value or re.fullmatch(ARTIFACT_NAME, value):
        return value
    raise ValueError(f"{value!r} is not a valid artifact name: {ARTIFACT_NAME_RULE}")


ArtifactName = Annotated[
    str,
    AfterValidator(_artifact_name),
    Field(json_schema_extra={"pattern": rf"{ARTIFACT_NAME}|\$\{{"}),
]

#: `s3://bucket/key`, `https://host/x`, `remote://name/path`: not a path in the repository (a
#: scheme has two letters at least, so that `C://x` stays a Windows path, refused as absolute).
URL = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]+://")


class Artifact(_Model):
    """An artifact as dvc.yaml declares it (DVC's ARTIFACT_SCHEMA): a path in the repository,
    such as a `.dvc`-tracked dataset or a stage's out, or a URL, of any type."""

    path: Text
    type: Text | None = None
    desc: Text | None = None
    labels: list[Text] = []
    meta: Any = None

    @property
    def is_url(self) -> bool:
        return URL.match(self.path) is not None


class ModelEntry(Artifact):
    """A model artifact, rendered into `dvc.yaml` `artifacts:` and versioned with Git tags."""

    type: Text = "model"
    metrics: Text | None = None


class Dataset(_Model):
    """A dataset of dvc.yaml's `datasets:` (DVC's DatasetSpec and DVCDatasetSpec), which a stage
    depends on as `ds://NAME`."""

    name: Text
    #: The Git repository of a `dvc` dataset, a DataChain dataset `dc://NAME@vN` (`dc`), or a
    #: cloud-versioned location such as `s3://bucket/path` (`url`).
    url: Text
    type: Literal["dvc", "dc", "url"]
    #: A file or folder in the repository of a `dvc` dataset.
    path: Text | None = None
    #: The Git revision of a `dvc` dataset.
    rev: Text | None = None


#: A pipeline's folder, relative to the spec: parts of letters, digits, `.`, `_` and `-`, so
#: that it can stand in a workflow's `dvc repro` as it is, and in DVC's `folder/dvc.yaml:stage`.
PipelineFolder = Annotated[
    str, Field(pattern=r"^[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)*/?$", max_length=256)
]


class Pipeline(_Model):
    """A dvc.yaml of its own, in a folder: what the spec's top level holds for the dvc.yaml
    next to it. Paths are relative to the folder, and `${...}` resolves against the folder's
    params.yaml and the pipeline's own vars, as DVC reads a dvc.yaml in a folder."""

    vars: list[VarsEntry] = []
    stages: Annotated[dict[StageName, StageEntry], Field(min_length=1)]
    metrics: list[Text] = []
    params: list[Text] = []
    plots: list[TopPlotEntry] = []
    datasets: list[Dataset] = []
    artifacts: Annotated[
        dict[ArtifactName, Artifact], Field(json_schema_extra={"additionalProperties": False})
    ] = {}


class Gate(_Model):
    """A condition on one metric that a model must meet to be released."""

    metric: Text
    min: FiniteFloat | None = None
    max: FiniteFloat | None = None
    vs: Text | None = None
    tolerance: Annotated[float | str, BeforeValidator(_tolerance)] | None = None
    better: Better = "higher"


class Promotion(_Model):
    """The model registry stages and how a version moves between them."""

    stages: Annotated[list[PromotionStage], Field(min_length=1)]
    auto: PromotionStage | None = None
    approval: PromotionStage | None = None


#: How `specops drift` compares a column: `auto` picks per column as Evidently does.
DriftMethod = Literal["auto", "ks", "chi2", "z", "wasserstein", "jensenshannon", "psi"]


class Drift(_Model):
    """When a column, and the whole batch, counts as drifted."""

    method: DriftMethod = "auto"
    #: The method's default when null (p < 0.05 for the tests, 0.1 for the distances).
    threshold: FiniteFloat | None = None
    #: The batch has drifted when at least this share of its columns drift.
    share: Annotated[float, Field(gt=0, le=1, allow_inf_nan=False)] = 0.5


#: The name of a GitHub Actions secret as specops accepts it: what a shell variable may be
#: named, upper case as GitHub shows them.
SECRET = r"^[A-Z_][A-Z0-9_]*$"


def _secret(value: str) -> str:
    if len(value) > 255 or not re.fullmatch(SECRET, value):
        raise ValueError(
            f"{value!r} is not a secret name specops accepts: upper-case letters, digits and '_',"
            " not starting with a digit"
        )
    if value.startswith("GITHUB_"):
        raise ValueError(f"{value!r}: GitHub reserves the names that start with GITHUB_")
    if value.startswith("SPECOPS_"):
        raise ValueError(f"{value!r}: specops names its own variables SPECOPS_*")
    return value


SecretName = Annotated[
    str, AfterValidator(_secret), Field(json_schema_extra={"pattern": SECRET, "maxLength": 255})
]


class Monitoring(_Model):
    """Where production data and the training reference are, and when to compare them."""

    reference: Text
    current: Text
    #: A command that brings the current batch.
    fetch: Text | None = None
    #: The columns to watch (default: all but the target, prediction, predicted class,
    #: latency and `ignore` columns).
    columns: Annotated[list[Text], Field(min_length=1)] | None = None
    #: The ground truth column, once labels arrive: classes 0 and 1, or several (whole numbers
    #: or strings).
    target: Text | None = None
    #: The model's score column: the probability of class 1.
    prediction: Text | None = None
    #: The column of the class the model predicted (binary default: the score at or above 0.5).
    predicted_class: Text | None = None
    #: A column of each prediction's latency, in milliseconds.
    latency: Text | None = None
    drift: Drift = Drift()
    #: Conditions on the batch's metrics, in the syntax of `gates`; they need `target`.
    performance: list[Gate] = []
    #: Columns the current batch may have that are neither contract nor watched, such as the
    #: prediction log's own (`version`, `time`).
    ignore: list[Text] = []
    schedule: Annotated[str, AfterValidator(cron)] = "0 6 * * 1"
    #: A drifted batch starts retraining (maturity 4).
    retrain: bool = False
    #: The folder of batches training depends on: retraining adds the drifted batch to it.
    incoming: Text | None = None
    #: The secret holding the token that pushes the retraining branch and opens its pull
    #: request (a GitHub App installation token or a PAT): one opened with the workflow's own
    #: token starts no CI. Default: the workflow's own token.
    token_secret: SecretName | None = None


#: GitHub environment names, kept to characters that need no quoting anywhere they appear.
EnvironmentName = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$", max_length=255)]


class Deployment(_Model):
    """How a version assigned to one promotion stage is deployed."""

    #: The team's own deployment command, run by `specops deploy` with the version's facts in
    #: SPECOPS_* environment variables.
    cmd: Text
    #: The GitHub environment whose reviewers and secrets the deployment uses (default: the
    #: stage's name).
    environment: EnvironmentName | None = None
    #: Where the deployed service answers, shown on the deployment.
    url: (
        Annotated[
            str,
            AfterValidator(_url),
            Field(json_schema_extra={"pattern": _URL, "maxLength": 2048}),
        ]
        | None
    ) = None

    def environment_for(self, stage: str) -> str:
        """The environment of the deployment to `stage`."""
        return self.environment or stage


#: A branch, or a GitHub Actions branch pattern (`release/*`): characters that need no quoting
#: in a workflow or a shell, and nothing Git refuses in a branch name.
BRANCH = r"^(?![-/.])(?!.*(\.\.|//|@\{|\.lock$|/$|\.$))[A-Za-z0-9._/*+-]+$"


def _branch(value: str) -> str:
    if len(value) > 255 or not re.fullmatch(BRANCH, value):
        raise ValueError(
            f"{value!r} is not a branch name or pattern specops accepts: letters, digits and"
            " '._/*+-', not starting with '-', '/' or '.', without '..' or '//'"
        )
    return value


BranchPattern = Annotated[
    str, AfterValidator(_branch), Field(json_schema_extra={"pattern": BRANCH, "maxLength": 255})
]


#: An IAM role's ARN, in any AWS partition (aws, aws-cn, aws-us-gov).
ROLE_ARN = r"^arn:aws(-[a-z]+)*:iam::[0-9]{12}:role/[A-Za-z0-9+=,.@_/-]{1,512}$"
#: An AWS region such as eu-west-1 or us-gov-east-1.
REGION = r"^[a-z]{2}(-[a-z]+)+-[0-9]+$"


def _role(value: str) -> str:
    if len(value) > 600 or not re.fullmatch(ROLE_ARN, value):
        raise ValueError(f"{value!r} is not an IAM role's ARN, arn:aws:iam::ACCOUNT:role/NAME")
    return value


def _region(value: str) -> str:
    if len(value) > 64 or not re.fullmatch(REGION, value):
        raise ValueError(f"{value!r} is not an AWS region such as eu-west-1")
    return value


RoleArn = Annotated[
    str, AfterValidator(_role), Field(json_schema_extra={"pattern": ROLE_ARN, "maxLength": 600})
]
Region = Annotated[
    str, AfterValidator(_region), Field(json_schema_extra={"pattern": REGION, "maxLength": 64})
]


class AwsOidc(_Model):
    """Credentials for the DVC remote from AWS through GitHub's OpenID Connect tokens."""

    #: The role that may write the remote, assumed only by pushes to the default branch.
    role: RoleArn
    #: A role that may only read it, assumed by every other run (pull requests, other
    #: branches); without it those runs get no AWS credentials and do not pull.
    read_role: RoleArn | None = None
    region: Region


class Oidc(_Model):
    """Cloud credentials from GitHub's OpenID Connect tokens instead of stored secrets."""

    aws: AwsOidc


class CI(_Model):
    """How the rendered workflows set up the project."""

    python: Annotated[str, Field(pattern=r"^3\.(0|[1-9][0-9]*)$"), AfterValidator(_python)] = "3.11"
    install: Text = "pip install -e ."
    test: Text | None = None
    timeout_minutes: Annotated[int, Field(ge=1, le=360)] = 30
    #: Commands the pipeline job runs after `dvc repro` and before the gates, such as a
    #: measurement no DVC stage should record (timings are never reproducible).
    before_gates: list[Text] = []
    #: Keep one comment on the pull request up to date with the report.
    pr_comment: bool = False
    #: The branches (or patterns) whose pushes run CI; releases and deployments happen only on
    #: the repository's default branch.
    branches: Annotated[list[BranchPattern], Field(min_length=1)] = ["main"]
    #: The labels of the runner every job runs on, unless a stage asks for another.
    runs_on: RunsOn = ["ubuntu-latest"]
    #: The GitHub secrets the steps that pull from or push to the DVC remote get as environment
    #: variables of the same name; no other step sees them.
    secrets: list[SecretName] = []
    #: Cloud credentials for those steps from OpenID Connect (`id-token: write` only there).
    oidc: Oidc | None = None


class Governance(_Model):
    """Who answers for the models and what they are for, shown on model cards."""

    owners: list[Text] = []
    intended_use: Text | None = None
    limitations: Text | None = None
    risk: Literal["low", "medium", "high"] | None = None


class Spec(_Model):
    """specops.yaml."""

    version: Literal[1]
    name: ProjectName
    maturity: Maturity
    #: Values for `${...}`, rendered as dvc.yaml's `vars`; params.yaml is always read first.
    vars: list[VarsEntry] = []
    stages: Annotated[dict[StageName, StageEntry], Field(min_length=1)]
    models: dict[ModelName, ModelEntry] = {}
    gates: list[Gate] = []
    promotion: Promotion | None = None
    monitoring: Monitoring | None = None
    #: Promotion stages that are deployed when a version is assigned to them.
    deploy: dict[PromotionStage, Deployment] = {}
    #: Metrics files that no stage writes, rendered as DVC's top-level `metrics:`.
    metrics: list[Text] = []
    #: Params files that no stage reads, for `dvc params diff`: DVC's top-level `params:`.
    params: list[Text] = []
    #: DVC's top-level plots: files or folders, and plots defined over the files they name.
    plots: list[TopPlotEntry] = []
    #: DVC's datasets, which stages name as `ds://NAME` deps.
    datasets: list[Dataset] = []
    #: Artifacts that are not registry models: any path or URL, any type; rendered into
    #: dvc.yaml's `artifacts:` after the models.
    artifacts: Annotated[
        dict[ArtifactName, Artifact], Field(json_schema_extra={"additionalProperties": False})
    ] = {}
    #: More dvc.yaml files, one per folder (relative to the spec), each rendered there.
    pipelines: Annotated[
        dict[PipelineFolder, Pipeline], Field(json_schema_extra={"additionalProperties": False})
    ] = {}
    ci: CI = CI()
    governance: Governance | None = None
