"""The platform's own resources for a command, with secrets (EnvVar) resolved as a run resolves them."""

from __future__ import annotations


def platform_resources(*keys: str) -> list:
    from orchestration.resources import build_resources
    from orchestration.settings import Settings

    resources = build_resources(Settings())
    return [resources[key].process_config_and_initialize() for key in keys]
