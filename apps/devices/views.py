from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.shortcuts import render

from apps.accounts import scoping

from .forms import PAIRING_ROLES, PairForm
from .pairing import PairingThrottled, pair_with_code


@login_required
def pair(request):
    """For field technicians: type the code the player shows, pick the screen, done."""
    search = request.GET.get("q", "").strip()
    code = request.GET.get("code", "").strip().upper()[:6]  # the web player's QR code fills it in
    form = PairForm(request.POST or None, user=request.user, search=search, initial={"pairing_code": code})
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        if scoping.role_in(request.user, data["screen"].fleet_id) not in PAIRING_ROLES:
            form.add_error("screen", "Your role does not allow pairing players with this screen.")
        else:
            try:
                device = pair_with_code(request, **data)
            except PairingThrottled:
                return render(
                    request, "devices/pair.html", {"form": form, "search": search, "throttled": True}, status=429
                )
            except ValidationError as error:
                form.add_error("pairing_code", error.message_dict["pairing_code"])
            else:
                return render(request, "devices/paired.html", {"device": device, "screen": device.screen})
    status = 400 if request.method == "POST" else 200
    return render(request, "devices/pair.html", {"form": form, "search": search, "code": code}, status=status)
