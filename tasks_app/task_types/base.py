"""What every task type shares: the registry, the base class and the response helpers.

A type validates the response an operator submits, makes the synthetic response
of test mode (SPEC §13), and says which params are URLs to download before work
starts. The params it accepts at creation are an API input, declared in
``tasks_app.task_params``. Invalid input raises Django's ``ValidationError``, keyed
by field.
"""

from django.core.exceptions import ValidationError

from scalehooks.errors import NotOffered

REGISTRY: dict[str, "TaskType"] = {}

ATTACHMENT_TYPES = ("text", "image", "website", "pdf")
GEOMETRY_KINDS = ("box", "polygon", "point", "line", "cuboid", "ellipse")


def register(cls):
    REGISTRY[cls.name] = cls()
    return cls


# Types the official client names (``scaleapi.tasks.TaskType``) that this service does not
# offer: a 402, as Scale answers a type the account has not enabled (SPEC §12).
NOT_OFFERED = frozenset(
    {
        "chat",
        "chatexperimental",
        "chatlite",
        "documentmodel",
        "federal2dvideoannotation",
        "laneannotation",
        "lidarannotation",
        "lidarlinking",
        "lidarsegmentation",
        "lidartopdown",
        "multichat",
        "multistage",
        "sensorfusion",
        "videoboxannotation",
        "videocuboidannotation",
    }
)


def get_task_type(name: str) -> "TaskType":
    """The type ``name``: ``NotOffered`` for a Scale type this service does not offer, a
    ``ValidationError`` for a name Scale does not know either."""
    try:
        return REGISTRY[name]
    except KeyError:
        if name in NOT_OFFERED:
            raise NotOffered(
                f"Task type {name!r} is not offered by this service. {supported_types()}"
            ) from None
        raise ValidationError({"type": [f"Unsupported task type {name!r}. {supported_types()}"]}) from None


def supported_types() -> str:
    return f"Supported types: {', '.join(sorted(REGISTRY))}."


class TaskType:
    name: str

    def validate_response(self, *, params: dict, response) -> dict:
        raise NotImplementedError

    def synthetic_response(self, *, params: dict) -> dict:
        """A response valid for ``params``, for test mode (SPEC §13)."""
        raise NotImplementedError

    def validate_prelabels(self, *, params: dict, value) -> None:
        """A ``hypothesis`` or ``base_annotations`` given at creation: Scale's reference asks
        that prelabels have the schema of the task's response. Raises as
        ``validate_response`` does (under ``response``)."""
        self.validate_response(params=params, response=value)

    def attachment_urls(self, params: dict) -> list[str]:
        """The params that name a remote file to download at creation."""
        return []


def invalid_response(message: str) -> ValidationError:
    return ValidationError({"response": [message]})


def require_object(response) -> dict:
    if not isinstance(response, dict):
        raise invalid_response("Must be a JSON object.")
    return response


def require_keys(response: dict, *, allowed: set[str], required: set[str]) -> None:
    extra = set(response) - allowed
    if extra:
        raise invalid_response(f"Unknown keys: {sorted(extra)}.")
    missing = required - set(response)
    if missing:
        raise invalid_response(f"Missing keys: {sorted(missing)}.")


def require_list_of_objects(value, name: str) -> list[dict]:
    if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
        raise invalid_response(f"`{name}` must be a list of objects.")
    return value


def one_of(value, names: set[str]) -> bool:
    """Whether ``value`` is one of the strings ``names`` (a list or an object from a response
    is none of them, and cannot be looked up in a set)."""
    return isinstance(value, str) and value in names


def is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def require_numbers(item: dict, keys: tuple[str, ...], where: str) -> None:
    for key in keys:
        if not is_number(item.get(key)):
            raise invalid_response(f"{where}: `{key}` must be a number.")


def require_string_values(values, *, keys: set[str], name: str) -> dict:
    """An object with exactly ``keys``, each a string (the answer to each field)."""
    if not isinstance(values, dict):
        raise invalid_response(f"`{name}` must be an object.")
    if set(values) != keys:
        raise invalid_response(f"`{name}` must have exactly the keys {sorted(keys)}.")
    if not all(isinstance(value, str) for value in values.values()):
        raise invalid_response(f"Every value of `{name}` must be a string.")
    return values


def remote_attachment(params: dict) -> list[str]:
    """The ``attachment`` param when it is a URL (any attachment type but text)."""
    if params.get("attachment") and params.get("attachment_type", "image") != "text":
        return [params["attachment"]]
    return []


def leaf_labels(objects: list) -> list[str]:
    """The labels an annotation may take from ``objects_to_annotate`` (or ``labels``, or an
    attribute's ``choices``): strings, and the ``choice`` of each ``LabelDescription`` without
    ``subchoices`` (Scale: only the leaves are returned), in order."""
    names, stack = [], list(reversed(objects or []))
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            names.append(item)
        elif isinstance(item, dict) and item.get("subchoices"):
            stack.extend(reversed(item["subchoices"]))
        elif isinstance(item, dict) and isinstance(item.get("choice"), str):
            names.append(item["choice"])
    return names
