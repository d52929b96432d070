"""One source of every default (issue 11): a resource config field that names a variable of the settings
registry has that variable's default (and `setting_field` gives it, with the registry's description)."""

import importlib
import pkgutil
import re
import typing

import dagster as dg
from pydantic_core import PydanticUndefined

import resources
from orchestration.settings import VARIABLES_BY_NAME, setting_field

NAME = re.compile(r"\b[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)*\b")  # filtered by the registry: TAGGER, TEXT_MODEL, ...


def _resource_classes() -> list[type]:
    found = []
    for info in pkgutil.walk_packages(resources.__path__, "resources."):
        module = importlib.import_module(info.name)
        for value in vars(module).values():
            if (isinstance(value, type) and issubclass(value, dg.ConfigurableResource)
                    and value.__module__ == module.__name__):
                found.append(value)
    return found


def _cast(annotation) -> tuple[type, type]:
    origin = typing.get_origin(annotation)
    if origin is list:
        (item,) = typing.get_args(annotation) or (str,)
        return list, item
    return annotation, str


def _named_fields():
    for cls in _resource_classes():
        for field_name, info in cls.model_fields.items():
            names = [n for n in NAME.findall(info.description or "") if n in VARIABLES_BY_NAME]
            if names and info.default is not PydanticUndefined:
                yield cls, field_name, info, names


def test_resource_fields_that_name_a_variable_are_found():
    fields = {(cls.__name__, name) for cls, name, _, _ in _named_fields()}
    assert {("VectorStoreResource", "path"), ("RecsysSettings", "collection"), ("LLMResource", "read_timeout_s"),
            ("WebFetcherResource", "allowed_ports"), ("DatabaseResource", "pool_size")} <= fields


def test_every_resource_field_that_names_a_registry_variable_has_its_default():
    wrong = []
    for cls, field_name, info, names in _named_fields():
        cast, item = _cast(info.annotation)
        expected = setting_field(names[0], cast, item)
        if info.default != expected.default:
            wrong.append(f"{cls.__module__}.{cls.__name__}.{field_name}: {info.default!r}, {names[0]} says {expected.default!r}")
    assert wrong == []


def test_converted_fields_describe_themselves_from_the_registry():
    """The UI's description is the README's: `NAME: help`."""
    for cls, field_name in (("resources.recsys", "RecsysSettings"), ("resources.media", "MediaResource"),
                            ("resources.vectors", "VectorStoreResource"), ("resources.llm", "LLMResource"),
                            ("resources.alerts", "AlertWebhookResource"), ("resources.cache", "CacheResource"),
                            ("resources.web", "WebFetcherResource")):
        resource = getattr(importlib.import_module(cls), field_name)
        for name, info in resource.model_fields.items():
            names = [n for n in NAME.findall(info.description or "") if n in VARIABLES_BY_NAME]
            if names:
                assert info.description == f"{names[0]}: {VARIABLES_BY_NAME[names[0]].help}", (field_name, name)


def test_data_dir_defaults_are_relative_folders_not_empty():
    assert setting_field("MEDIA_ROOT").default == ".data/media"
    assert setting_field("QDRANT_PATH").default == ".data/qdrant"
    assert setting_field("CRAWL_ALLOWED_PORTS", list, int).default == [80, 443]
