"""Static file storage for production: WhiteNoise's hashed, compressed files, forgiving when
collectstatic has not run (a server started straight from a checkout)."""

from whitenoise.storage import CompressedManifestStaticFilesStorage


class ManifestStaticFilesStorage(CompressedManifestStaticFilesStorage):
    """Hashed names from the manifest once `collectstatic` has run; before that, or for a file added
    since, the plain name, which WhiteNoise serves from the app's static directories. Without this,
    every page would be a server error until someone runs collectstatic."""

    manifest_strict = False
    # The room page's modules import each other by name: point those imports at the hashed files
    # too, or a browser would fetch (and cache) both names of every module.
    support_js_module_import_aggregation = True

    def stored_name(self, name):
        try:
            return super().stored_name(name)
        except ValueError:  # not collected: neither in the manifest nor in STATIC_ROOT
            return name
