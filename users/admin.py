"""People in the admin: edited by superusers; viewed by moderators (the sender and recipient of a message), who
see who someone is and nothing else: no password hash, no email address, no permissions."""

from django import forms
from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.forms import AdminUserCreationForm
from django.contrib.auth.forms import UserChangeForm as DjangoUserChangeForm

from .display_names import clean_display_name
from .models import User
from .usernames import clean_new_username


class UserCreationForm(AdminUserCreationForm):
    """Django's add-user form, with the rule for new usernames (`users.usernames`)."""

    class Meta(AdminUserCreationForm.Meta):
        model = User

    def clean_username(self):
        return clean_new_username(self.cleaned_data["username"])


class UserChangeForm(DjangoUserChangeForm):
    """Django's change-user form, with the rules for display names (`users.display_names`) and, when the
    username changes, for new usernames (`users.usernames`: no look-alike of someone else's)."""

    class Meta(DjangoUserChangeForm.Meta):
        model = User

    def clean_username(self):
        username = self.cleaned_data["username"]
        if username == self.instance.username:
            return username  # a carried name stays as it was
        return clean_new_username(username, renaming=self.instance.pk)

    def clean_display_name(self):
        return clean_display_name(self.cleaned_data["display_name"])


# What someone who may only view people (a moderator: migration messaging 0009) sees of a person.
VIEW_ONLY_FIELDSETS = (
    (None, {"fields": ["username", "display_name"]}),
    ("Account", {"fields": ["is_active", "is_staff", "date_joined", "last_login"]}),
)


class ViewOnlyUserForm(forms.ModelForm):
    """The page of someone who may only view people: no field of it is a form field, and the model's help
    texts (how to fill a field in) are left out."""

    class Meta:
        model = User
        fields: list[str] = []
        help_texts = {field: "" for fieldset in VIEW_ONLY_FIELDSETS for field in fieldset[1]["fields"]}


VIEW_ONLY_LIST_DISPLAY = ["username", "display_name", "is_active", "is_staff", "date_joined"]
VIEW_ONLY_SEARCH_FIELDS = ["username", "display_name"]  # not email: a search would reveal addresses
VIEW_ONLY_LOOKUP_FIELDS = frozenset(VIEW_ONLY_LIST_DISPLAY)  # what a view-only filter in the URL may read


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    add_form = UserCreationForm
    form = UserChangeForm
    list_display = ["username", "display_name", "email", "is_active", "is_staff", "date_joined"]
    search_fields = ["username", "display_name", "email"]
    fieldsets = (*(DjangoUserAdmin.fieldsets or ()), ("Relay", {"fields": ["display_name"]}))

    def get_fieldsets(self, request, obj=None):
        if obj is not None and not self.has_change_permission(request, obj):
            return VIEW_ONLY_FIELDSETS
        return super().get_fieldsets(request, obj)

    def get_form(self, request, obj=None, change=False, **kwargs):
        if obj is not None and not self.has_change_permission(request, obj):
            kwargs["form"] = ViewOnlyUserForm
        return super().get_form(request, obj, change=change, **kwargs)

    def get_list_display(self, request):
        return super().get_list_display(request) if self.has_change_permission(request) else VIEW_ONLY_LIST_DISPLAY

    def get_search_fields(self, request):
        return super().get_search_fields(request) if self.has_change_permission(request) else VIEW_ONLY_SEARCH_FIELDS

    def get_list_filter(self, request):
        return super().get_list_filter(request) if self.has_change_permission(request) else ["is_active", "is_staff"]

    def lookup_allowed(self, lookup, value, request=None):
        """A filter in the URL (`?field__lookup=`) tells by its count what a field holds: a carried password
        hash never, and for those who may only view people, only the fields they are shown."""
        if lookup.startswith("legacy_password"):
            return False
        if request is not None and not self.has_change_permission(request):
            return lookup.split("__", 1)[0] in VIEW_ONLY_LOOKUP_FIELDS
        return super().lookup_allowed(lookup, value, request)
