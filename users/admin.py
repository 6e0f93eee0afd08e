from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.forms import AdminUserCreationForm

from .models import User
from .usernames import clean_new_username


class UserCreationForm(AdminUserCreationForm):
    """Django's add-user form, with the rule for new usernames (`users.usernames`)."""

    class Meta(AdminUserCreationForm.Meta):
        model = User

    def clean_username(self):
        return clean_new_username(self.cleaned_data["username"])


@admin.register(User)
class UserAdmin(DjangoUserAdmin):
    add_form = UserCreationForm
    list_display = ["username", "display_name", "email", "is_active", "is_staff", "date_joined"]
    search_fields = ["username", "display_name", "email"]
    fieldsets = DjangoUserAdmin.fieldsets + (("Relay", {"fields": ["display_name"]}),)
