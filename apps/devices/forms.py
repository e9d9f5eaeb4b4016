from django import forms

from apps.accounts import permissions, scoping
from apps.screens.models import Screen

PAIRING_ROLES = permissions.roles_for("devices.device", "pair")


class PairForm(forms.Form):
    pairing_code = forms.CharField(
        max_length=6,
        min_length=6,
        label="Code shown on the player",
        widget=forms.TextInput(
            attrs={
                "autocomplete": "off",
                "autocapitalize": "characters",
                "autofocus": True,
                "inputmode": "text",
                "style": "text-transform:uppercase;letter-spacing:.3em",
            }
        ),
    )
    screen = forms.ModelChoiceField(queryset=Screen.objects.none(), label="Screen")
    name = forms.CharField(max_length=200, required=False, label="Player name (optional)")
    barcode = forms.CharField(max_length=100, required=False, label="Barcode (optional)")
    sticker = forms.CharField(max_length=100, required=False, label="Sticker (optional)")

    def __init__(self, *args, user, search: str = "", **kwargs):
        super().__init__(*args, **kwargs)
        screens = scoping.scope_queryset(Screen.objects.select_related("fleet"), user, PAIRING_ROLES)
        screens = screens.filter(active=True)
        if search:
            screens = screens.filter(name__icontains=search)
        self.fields["screen"].queryset = screens.order_by("fleet__name", "name")
        self.fields["screen"].label_from_instance = lambda screen: f"{screen.name} ({screen.fleet.name})"
