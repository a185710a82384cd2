from django import forms
from django.conf import settings
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from rooms.errors import ChatError
from rooms.limits import name_max_chars
from rooms.services.admission import find_room_to_join, needs_passphrase
from rooms.services.encryption import check_key_check
from rooms.services.presence import check_name_free
from rooms.services.rooms import take_room_creation
from rooms.services.sessions import owner_key_in_session
from rooms.validation import check_name, check_title, normalize_code


def _validate_with(check):
    """Run a services.check_* function as a form field validator."""

    def clean(value):
        try:
            return check(value)
        except ChatError as error:
            raise forms.ValidationError(error.detail, code=error.code) from error

    return clean


class NameForm(forms.Form):
    """The display name, asked for on the home page and on a shared room link."""

    name = forms.CharField(
        label=_("Your name"),
        required=False,
        strip=False,
        max_length=200,  # a generous bound for the raw input; check_name enforces the real limit
        widget=forms.TextInput(attrs={"autocomplete": "nickname", "maxlength": name_max_chars()}),
    )

    def __init__(self, *args, members_of=None, session_key=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.members_of = members_of  # the room being joined: its members' names are taken
        self.session_key = session_key  # the joining session: its own name is not taken
        self.fields["name"].widget.attrs["autofocus"] = True

    def full_clean(self):
        super().full_clean()
        # After a failed submit the page opens on the first field with an error, not on the name.
        invalid = [name for name in self.fields if name in self.errors]
        if invalid:
            for field in self.fields.values():
                field.widget.attrs.pop("autofocus", None)
            self.fields[invalid[0]].widget.attrs["autofocus"] = True

    def clean_name(self):
        return _validate_with(check_name)(self.cleaned_data["name"])

    def clean(self):
        cleaned_data = super().clean()
        if self.members_of is not None and "name" in cleaned_data:
            try:
                check_name_free(self.members_of, cleaned_data["name"], self.session_key)
            except ChatError as error:
                self.add_error("name", forms.ValidationError(error.detail, code=error.code))
        return cleaned_data


class HomeForm(NameForm):
    """Create a room (optionally titled) or join one by its code."""

    field_order = ["name", "title", "passphrase", "encrypted", "code"]  # as the page shows them

    code = forms.CharField(
        label=_("Room code"),
        required=False,
        max_length=64,
        widget=forms.TextInput(attrs={"autocomplete": "off", "autocapitalize": "characters", "spellcheck": "false"}),
    )
    title = forms.CharField(
        label=_("Room title (optional)"),
        required=False,
        max_length=200,
        widget=forms.TextInput(attrs={"maxlength": settings.TITLE_MAX_CHARS}),
    )

    passphrase = forms.CharField(
        label=_("Passphrase (optional: people joining must type it)"),
        required=False,
        strip=False,
        max_length=200,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    encrypted = forms.BooleanField(
        label=_("End-to-end encrypted"),
        required=False,
        help_text=_(
            "Messages are encrypted in your browser; the key is in the invite link, never on the server. "
            "Names, reactions and times stay visible to the server."
        ),
    )
    # Filled by static/rooms/home.js when "encrypted" is ticked: a ciphertext of a known text under
    # the key the browser just made (docs/e2ee.md). Without JavaScript they stay empty and the
    # form refuses to make a room nobody holds a key for.
    key_check = forms.CharField(required=False, max_length=128, widget=forms.HiddenInput)
    key_check_iv = forms.CharField(required=False, max_length=24, widget=forms.HiddenInput)

    def __init__(self, *args, action="create", client_ip="unknown", session=None, **kwargs):
        super().__init__(*args, session_key=getattr(session, "session_key", None), **kwargs)
        self.action = action
        self.client_ip = client_ip  # unknown codes are limited per IP (find_room_to_join)
        self.session = session  # rooms it was admitted to are not limited

    def clean(self):
        cleaned_data = super().clean()
        cleaned_data["sealed_key_check"] = None
        if self.action == "create" and cleaned_data.get("encrypted") and not self.errors:
            try:
                cleaned_data["sealed_key_check"] = check_key_check(
                    cleaned_data.get("key_check"), cleaned_data.get("key_check_iv")
                )
            except ChatError as error:
                self.add_error("encrypted", forms.ValidationError(error.detail, code=error.code))
        if self.action == "create" and not self.errors:
            try:
                take_room_creation(self.client_ip)
            except ChatError as error:
                self.add_error(None, forms.ValidationError(error.detail, code=error.code))
        return cleaned_data

    def clean_title(self):
        return _validate_with(check_title)(self.cleaned_data["title"])

    def clean_code(self):
        code = normalize_code(self.cleaned_data["code"])
        if self.action != "join":
            return code
        if not code:
            raise forms.ValidationError(_("Enter the code of the room to join."), code="missing_code")
        try:
            self.room = find_room_to_join(code, self.client_ip, self.session)
        except ChatError as error:
            raise forms.ValidationError(error.detail, code=error.code) from error
        if self.room is None:
            raise forms.ValidationError(
                format_lazy(_("There is no room with code {code}."), code=code), code="room_not_found"
            )
        # Behind a passphrase the names are checked once it is given (the room page does).
        if not needs_passphrase(self.room, self.session, owner_key_in_session(self.session, self.room.code)):
            self.members_of = self.room
        return code


class PassphraseForm(forms.Form):
    """The passphrase a room's owner set, asked for before joining."""

    passphrase = forms.CharField(
        label=_("Passphrase"), strip=False, max_length=200, widget=forms.PasswordInput(attrs={"autocomplete": "off"})
    )
