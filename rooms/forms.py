from django import forms
from django.conf import settings

from . import services


def _validate_with(check):
    """Run a services.check_* function as a form field validator."""

    def clean(value):
        try:
            return check(value)
        except services.ChatError as error:
            raise forms.ValidationError(error.detail, code=error.code) from error

    return clean


class NameForm(forms.Form):
    """The display name, asked for on the home page and on a shared room link."""

    name = forms.CharField(
        label="Your name",
        required=False,
        strip=False,
        max_length=200,  # a generous bound for the raw input; check_name enforces the real limit
        widget=forms.TextInput(attrs={"autocomplete": "nickname", "maxlength": settings.NAME_MAX_CHARS}),
    )

    def clean_name(self):
        return _validate_with(services.check_name)(self.cleaned_data["name"])


class HomeForm(NameForm):
    """Create a room (optionally titled) or join one by its code."""

    code = forms.CharField(
        label="Room code",
        required=False,
        max_length=64,
        widget=forms.TextInput(attrs={"autocomplete": "off", "autocapitalize": "characters", "spellcheck": "false"}),
    )
    title = forms.CharField(
        label="Room title (optional)",
        required=False,
        max_length=200,
        widget=forms.TextInput(attrs={"maxlength": settings.TITLE_MAX_CHARS}),
    )

    passphrase = forms.CharField(
        label="Passphrase (optional: people joining must type it)",
        required=False,
        strip=False,
        max_length=200,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    def __init__(self, *args, action="create", client_ip="unknown", **kwargs):
        super().__init__(*args, **kwargs)
        self.action = action
        self.client_ip = client_ip  # unknown codes are limited per IP (services.find_room_to_join)

    def clean_title(self):
        return _validate_with(services.check_title)(self.cleaned_data["title"])

    def clean_code(self):
        code = services.normalize_code(self.cleaned_data["code"])
        if self.action != "join":
            return code
        if not code:
            raise forms.ValidationError("Enter the code of the room to join.", code="missing_code")
        try:
            self.room = services.find_room_to_join(code, self.client_ip)
        except services.ChatError as error:
            raise forms.ValidationError(error.detail, code=error.code) from error
        if self.room is None:
            raise forms.ValidationError(f"There is no room with code {code}.", code="room_not_found")
        return code


class PassphraseForm(forms.Form):
    """The passphrase a room's owner set, asked for before joining."""

    passphrase = forms.CharField(
        label="Passphrase", strip=False, max_length=200, widget=forms.PasswordInput(attrs={"autocomplete": "off"})
    )
