"""Ops staff's view of tenants and their people (runs in the all-tenants admin context)."""

from __future__ import annotations

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.db import transaction

from accounts.mfa.models import WebAuthnCredential
from accounts.models import Membership, Organization, User
from audit.actions import Action
from audit.services import record


class MembershipInline(admin.TabularInline):
    model = Membership
    fk_name = "organization"
    extra = 0
    fields = ("user", "role", "is_active", "created_at", "deactivated_at")
    readonly_fields = ("created_at",)
    autocomplete_fields = ("user",)


@admin.register(Organization)
class OrganizationAdmin(admin.ModelAdmin):
    list_display = ("name", "slug", "kind", "status", "data_region", "time_zone", "created_at")
    list_filter = ("kind", "status", "data_region")
    search_fields = ("name", "slug")
    readonly_fields = ("created_at", "updated_at")
    inlines = (MembershipInline,)

    def get_readonly_fields(self, request, obj=None):
        # the slug is in every URL and every tenant's bookmarks: fixed once created
        return (*self.readonly_fields, "slug") if obj else self.readonly_fields


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ("user", "organization", "role", "is_active", "created_at")
    list_filter = ("role", "is_active", "organization")
    search_fields = ("user__email", "organization__name", "organization__slug")
    list_select_related = ("user", "organization")
    autocomplete_fields = ("user",)
    readonly_fields = ("organization", "created_at")

    def has_add_permission(self, request):
        return False  # memberships are created in an organization's page (its inline)


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    ordering = ("email",)
    list_display = ("email", "full_name", "is_staff", "is_active", "last_login")
    list_filter = ("is_staff", "is_active")
    search_fields = ("email", "full_name")
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        ("Profile", {"fields": ("full_name",)}),
        ("Access", {"fields": ("is_active", "is_staff", "is_superuser", "groups")}),
        ("Dates", {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = ((None, {"classes": ("wide",), "fields": ("email", "password1", "password2")}),)
    filter_horizontal = ("groups",)


@admin.register(WebAuthnCredential)
class WebAuthnCredentialAdmin(admin.ModelAdmin):
    """Ops may see and remove a person's passkeys (e.g. all of them lost, under a policy that
    requires one); nothing else. Each removal is audited as the user's own removal is."""

    list_display = ("user", "name", "created_at", "last_used_at", "backed_up")
    search_fields = ("user__email",)
    list_select_related = ("user",)
    fields = ("user", "name", "created_at", "last_used_at", "sign_count", "backed_up", "aaguid")
    readonly_fields = fields

    def has_add_permission(self, request):
        return False  # only the person's browser can create one

    def has_change_permission(self, request, obj=None):
        return False

    @transaction.atomic
    def delete_model(self, request, obj):
        passkey_id = obj.pk
        super().delete_model(request, obj)
        record(
            Action.MFA_PASSKEY_REMOVED,
            target=obj.user,
            changes={"passkey_id": passkey_id, "by_ops": True},
        )

    def delete_queryset(self, request, queryset):
        for obj in queryset.order_by("pk"):
            self.delete_model(request, obj)
