"""`{% js_catalog_url %}`: the address of the JavaScript catalog in the language of this response."""

from django import template
from django.utils import translation

from chatsite.js_catalog import catalog_url

register = template.Library()


@register.simple_tag
def js_catalog_url():
    return catalog_url(translation.get_language())
