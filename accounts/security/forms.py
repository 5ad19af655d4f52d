"""Forms of the organization security settings: IP allowlist and session timeouts."""

from __future__ import annotations

import ipaddress
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from accounts.models import Organization
from accounts.security.allowlist import address_allowed
from k12cloud.client_ip import Address

MAX_NETWORKS = 200


class IpAllowlistForm(forms.Form):
    networks = forms.CharField(
        label=_("Allowed networks"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 8, "spellcheck": "false", "autocomplete": "off"}),
        help_text=_(
            "One IPv4 or IPv6 address or network per line, in CIDR notation, e.g. 203.0.113.0/24 "
            "or 2001:db8::/48. Leave empty to allow every address."
        ),
    )
    scope = forms.ChoiceField(
        label=_("Who is restricted"),
        choices=Organization.AllowlistScope.choices,
        widget=forms.RadioSelect,
    )
    confirm_self_exclusion = forms.BooleanField(
        label=_("I understand that I will lose access from my current address."),
        required=False,
    )

    def __init__(self, *args: Any, client_address: Address | None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.client_address = client_address
        self.excludes_self = False

    def clean_networks(self) -> list[str]:
        lines = self.cleaned_data["networks"].splitlines()
        errors: list[str] = []
        networks: list[str] = []
        for number, line in enumerate(lines, start=1):
            entry = line.strip()
            if not entry or entry.startswith("#"):
                continue
            try:
                network = str(ipaddress.ip_network(entry, strict=False))
            except ValueError:
                errors.append(
                    _(
                        "Line %(number)d: “%(entry)s” is not an IPv4 or IPv6 address or network "
                        "(CIDR, e.g. 203.0.113.0/24)."
                    )
                    % {"number": number, "entry": entry[:60]}
                )
                continue
            if network not in networks:
                networks.append(network)
        if errors:
            raise forms.ValidationError(errors)
        if len(networks) > MAX_NETWORKS:
            raise forms.ValidationError(
                _("At most %(max)d networks; combine neighbouring ones into larger networks.")
                % {"max": MAX_NETWORKS}
            )
        return networks

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        networks = cleaned.get("networks")
        if networks and not address_allowed(
            self.client_address, [ipaddress.ip_network(n) for n in networks]
        ):
            # an admin is restricted under either scope
            self.excludes_self = True
            if not cleaned.get("confirm_self_exclusion"):
                self.add_error(
                    "confirm_self_exclusion",
                    _(
                        "Your current address (%(address)s) is not in this list: once saved, you "
                        "cannot open this organization's pages from where you are now. Check the "
                        "box to save anyway, or add your address."
                    )
                    % {"address": self.client_address or _("unknown")},
                )
        return cleaned


class SessionPolicyForm(forms.Form):
    idle_minutes = forms.IntegerField(
        label=_("Sign out after inactivity (minutes)"),
        min_value=5,
        max_value=480,
        help_text=_("Between 5 and 480 minutes. The default is 30."),
    )
    absolute_hours = forms.IntegerField(
        label=_("Sign out after this long in any case (hours)"),
        min_value=1,
        max_value=24,
        help_text=_("Between 1 and 24 hours. The default is 12."),
    )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        idle, absolute = cleaned.get("idle_minutes"), cleaned.get("absolute_hours")
        if idle is not None and absolute is not None and idle > absolute * 60:
            self.add_error(
                "idle_minutes",
                _("The inactivity limit must not be longer than the overall limit (%(hours)d h).")
                % {"hours": absolute},
            )
        return cleaned
