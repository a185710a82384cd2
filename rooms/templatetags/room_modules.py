"""`{% module_preloads %}`: a modulepreload link for every module of the room page, so the browser
fetches them all at once instead of discovering them import by import."""

import functools
from pathlib import Path

from django import template
from django.contrib.staticfiles import finders
from django.core.signals import setting_changed
from django.dispatch import receiver
from django.templatetags.static import static
from django.utils.html import format_html_join

register = template.Library()

MODULES_DIRECTORY = "rooms/room"
SHARED_MODULES = ("rooms/room_view.js",)


@functools.cache
def module_paths():
    directory = finders.find(MODULES_DIRECTORY)
    names = sorted(path.name for path in Path(directory).glob("*.js")) if directory else []
    return (*SHARED_MODULES, *(f"{MODULES_DIRECTORY}/{name}" for name in names))


@register.simple_tag
def module_preloads():
    return preload_links()


@functools.cache
def preload_links():
    # Every room page carries the same links until the next deploy: build them once per process.
    return format_html_join("\n", '<link rel="modulepreload" href="{}">', ((static(path),) for path in module_paths()))


@receiver(setting_changed)
def forget_preload_links(setting, **kwargs):
    if setting in ("STORAGES", "STATIC_URL"):
        preload_links.cache_clear()
