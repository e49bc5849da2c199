"""Callback `warm_plugins`: load the Jinja filters and tests, and the action plugins, once, in the controller.

ansible-core runs every task of every host in a worker process forked from the controller. A
worker that templates anything with a filter or a test first loads *every* filter and test plugin
(`Jinja2Loader._ensure_non_collection_wrappers`) and, for a collection's filter, every module of
that collection's filter package; it then exits, and the next worker does it all again. Profiled
on a skipped task (`when: false`, 250 results over 5 hosts): that loading was about 40 % of a
worker's time. Loaded once here, in the controller before the first play, the modules and the
loader's caches are inherited by every worker through fork. Measured (README, "Converging
fast"): 0.83-0.86 of the controller CPU under plain `linear`, about the same under Mitogen.

Enable it in ansible.cfg (`callbacks_enabled = telework.platform.warm_plugins`); it prints
nothing and changes no result. The collections whose filters and tests it loads are
the option `collections` (env TW_WARM_PLUGINS_COLLECTIONS, comma-separated).
"""

from __future__ import annotations

from typing import Any

from ansible.utils.display import Display

from ansible.plugins.callback import CallbackBase  # type: ignore[attr-defined]

DOCUMENTATION = r"""
name: warm_plugins
type: aggregate
short_description: Load filter, test and action plugins once in the controller, before workers fork
description:
  - Loads every built-in Jinja2 filter and test, the filters and tests of the listed collections
    and the built-in action plugins into the controller process when the callbacks load, so that
    the worker process Ansible forks for every task and host inherits them instead of loading
    them again.
  - Prints nothing and changes no task result.
requirements:
  - enable in ansible.cfg with C(callbacks_enabled = telework.platform.warm_plugins)
options:
  collections:
    description: Collections whose filter and test plugins are loaded as well.
    type: list
    elements: str
    default: [telework.platform, community.general]
    env:
      - name: TW_WARM_PLUGINS_COLLECTIONS
    ini:
      - section: callback_warm_plugins
        key: collections
"""

display = Display()

# A name no collection defines: looking it up makes the loader import every module of the
# collection's filter (or test) package, which is what a worker would do on first use.
_NO_SUCH_PLUGIN = "tw_warm_plugins_lookup_only"


def warm(collections: list[str]) -> None:
    """Load the plugins workers would otherwise load for themselves; a failure only costs speed."""
    from ansible.plugins.loader import action_loader, filter_loader, test_loader

    for loader in (filter_loader, test_loader):
        for _ in loader.all():
            pass
        for collection in collections:
            try:
                loader.get(f"{collection}.{_NO_SUCH_PLUGIN}")
            except Exception as exc:  # an absent collection costs only speed
                display.vvv(f"warm_plugins: {loader.type} plugins of {collection} not loaded: {exc}")
    for _ in action_loader.all(class_only=True):
        pass


class CallbackModule(CallbackBase):  # type: ignore[misc]
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "telework.platform.warm_plugins"
    CALLBACK_NEEDS_ENABLED = True

    def set_options(self, task_keys: Any = None, var_options: Any = None, direct: Any = None) -> None:
        super().set_options(task_keys=task_keys, var_options=var_options, direct=direct)
        warm(list(self.get_option("collections") or []))
