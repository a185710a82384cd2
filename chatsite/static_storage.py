"""Static file storage for production: WhiteNoise's hashed, compressed files, forgiving when
collectstatic has not run (a server started straight from a checkout)."""

from whitenoise.storage import CompressedManifestStaticFilesStorage


class ManifestStaticFilesStorage(CompressedManifestStaticFilesStorage):
    """Hashed names from the manifest once `collectstatic` has run; before that, or for a file added
    since, the plain name, which WhiteNoise serves from the app's static directories. Without this,
    every page would be a server error until someone runs collectstatic."""

    manifest_strict = False

    def stored_name(self, name):
        try:
            return super().stored_name(name)
        except ValueError:  # not collected: neither in the manifest nor in STATIC_ROOT
            return name
